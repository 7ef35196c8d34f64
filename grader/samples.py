"""Sample submissions made from the reference solution: correct, each typical mistake, and broken.

One catalogue of mistakes per assignment serves the demo class, the tests and the benchmarks.
A mistaken submission is the solution with one function's source replaced, so it should lose
exactly that function's points and show that mistake's hint.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nbformat

from grader import solutions


@dataclass(frozen=True)
class Mistake:
    function: str
    """the function whose source is replaced"""
    source: str
    """the wrong version"""
    hint: str | None
    """the hint the grader should name, or None where no hint applies (e.g. a timeout)"""


def _layer(z: str, after: str = "") -> str:
    """A ``layer_forward`` that computes ``activation(<z>)<after>``: one slip in an otherwise right layer."""
    return ("def layer_forward(a, W, b, activation=\"sigmoid\"):\n"
            "    f = sigmoid if activation == \"sigmoid\" else relu\n"
            f"    return f({z}){after}\n")


MISTAKES: dict[str, dict[str, Mistake]] = {
    "a1_neuron": {
        "not_summed": Mistake("weighted_sum", "def weighted_sum(a, w):\n    return a * w\n", "not_summed"),
        "forgot_bias": Mistake("weighted_input", "def weighted_input(a, w, b):\n    return weighted_sum(a, w)\n",
                               "forgot_bias"),
        "used_tanh": Mistake("sigmoid", "def sigmoid(z):\n    return np.tanh(z)\n", "used_tanh"),
        "overflowing_sigmoid": Mistake("sigmoid", "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n", None),
        "relu_clipped": Mistake("relu", "def relu(z):\n    return np.clip(z, 0, 1)\n", "clipped_at_one"),
        "forgot_sigmoid": Mistake("neuron", "def neuron(a, w, b):\n    return weighted_input(a, w, b)\n",
                                  "forgot_sigmoid"),
        "threshold_flipped": Mistake("fires", "def fires(a, w, threshold):\n"
                                     "    return bool(weighted_sum(a, w) + threshold > 0)\n", "threshold_sign_flipped"),
        "region_transposed": Mistake("edge_detector", "def edge_detector(top, left, height, width):\n"
                                     "    image = np.zeros((28, 28))\n"
                                     "    image[left:left + width, top:top + height] = 1.0\n"
                                     "    return image.ravel()\n", "region_transposed"),
        "infinite_loop": Mistake("relu", "def relu(z):\n    while True:\n        pass\n", None),
    },
    "a2_layer": {
        "kernel_reshaped": Mistake("to_keras_kernel", "def to_keras_kernel(W):\n"
                                   "    return W.reshape(W.shape[1], W.shape[0])\n", "reshaped_not_transposed"),
        "kernel_transposed": Mistake("layer_forward", _layer("a @ W + b"), "kernel_transposed"),
        "bias_wrong_axis": Mistake("layer_forward", "def layer_forward(a, W, b, activation=\"sigmoid\"):\n"
                                   "    f = sigmoid if activation == \"sigmoid\" else relu\n"
                                   "    if np.ndim(a) == 1:\n"
                                   "        return f(W @ a + b)\n"
                                   "    return f(a @ W.T + b[:, None])  # the bias as a column, one per row\n",
                                   "bias_wrong_axis"),
        "activation_before_bias": Mistake("layer_forward", _layer("a @ W.T", after=" + b"), "activation_before_bias"),
        "batch_flattened": Mistake("layer_forward", _layer("a @ W.T + b", after=".ravel()"), "batch_flattened"),
        "returned_list": Mistake("layer_forward", "def layer_forward(a, W, b, activation=\"sigmoid\"):\n"
                                 "    f = sigmoid if activation == \"sigmoid\" else relu\n"
                                 "    return [f(a @ w + b_j) for w, b_j in zip(W, b)]\n", "returned_list"),
        "forgot_biases": Mistake("count_parameters", "def count_parameters(sizes):\n"
                                 "    return sum(m * n for m, n in zip(sizes, sizes[1:]))\n", "forgot_biases"),
    },
    "a3_network": {
        "no_output_sigmoid": Mistake("feedforward", "def feedforward(a, weights, biases):\n"
                                     "    for W, b in zip(weights[:-1], biases[:-1]):\n"
                                     "        a = layer_forward(a, W, b)\n"
                                     "    return a @ weights[-1].T + biases[-1]\n", "no_output_sigmoid"),
        "returned_max": Mistake("predict", "def predict(a, weights, biases):\n"
                                "    return np.max(feedforward(a, weights, biases), axis=-1)\n", "returned_max"),
        "argmax_flattened": Mistake("predict", "def predict(a, weights, biases):\n"
                                    "    return int(np.argmax(feedforward(a, weights, biases)))\n", "argmax_flattened"),
        "kernels_not_transposed": Mistake("weights_from_keras", "def weights_from_keras(model):\n"
                                          "    layers = [layer.get_weights() for layer in model.layers]\n"
                                          "    return [k for k, b in layers], [b for k, b in layers]\n",
                                          "kernels_not_transposed"),
        "returned_count": Mistake("accuracy", "def accuracy(x, y, weights, biases):\n"
                                  "    return int(np.sum(predict(x, weights, biases) == y))\n", "returned_count"),
    },
}


def solution_program(assignment_id: str, overrides: dict[str, str] | None = None) -> str:
    """The reference solution as one ``.py`` file, with some functions replaced."""
    imports, functions = solutions.function_sources(solutions.notebook_path(assignment_id))
    functions = {**functions, **(overrides or {})}
    return "\n".join(dict.fromkeys(imports)) + "\n\n\n" + "\n\n\n".join(functions.values()) + "\n"


def write_py(folder: Path, assignment_id: str, overrides: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment_id}.py"
    path.write_text(solution_program(assignment_id, overrides))
    return path


def write_notebook(folder: Path, assignment_id: str, *, released: bool = False,
                   broken_function: str | None = None) -> Path:
    """The solution (or released stub) notebook; ``broken_function``'s cell gets a syntax error."""
    root = solutions.ASSIGNMENTS if released else solutions.SOLUTIONS
    nb = nbformat.read(solutions.notebook_path(assignment_id, root=root), as_version=4)
    if broken_function:
        for cell in nb.cells:
            if cell.cell_type == "code" and f"def {broken_function}(" in cell.source:
                cell.source = cell.source.replace(f"def {broken_function}(", f"def {broken_function}((", 1)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment_id}.ipynb"
    nbformat.write(nb, path)
    return path


def expected_scores(assignment, lost: tuple[str, ...] = (), *, all_lost: bool = False) -> dict[str, float]:
    return {ex.name: 0.0 if all_lost or ex.name in lost else float(ex.points) for ex in assignment.exercises}


def sample_class(assignment_id: str, root: Path, *, with_loop: bool = True) -> dict[str, dict[str, float]]:
    """Write a small class under ``root``; returns the per-function scores each student should get."""
    from course import exercises

    assignment = exercises.assignment(assignment_id)
    root = Path(root)
    expected = {}
    write_notebook(root / "ada_solution_notebook", assignment_id)
    expected["ada_solution_notebook"] = expected_scores(assignment)
    write_py(root / "ben_correct_py", assignment_id)
    expected["ben_correct_py"] = expected_scores(assignment)
    for name, mistake in MISTAKES.get(assignment_id, {}).items():
        if name == "infinite_loop" and not with_loop:
            continue
        student = f"mistake_{name}"
        write_py(root / student, assignment_id, {mistake.function: mistake.source})
        expected[student] = expected_scores(assignment, (mistake.function,))
    write_notebook(root / "stub_released_notebook", assignment_id, released=True)
    expected["stub_released_notebook"] = expected_scores(assignment, all_lost=True)
    first = assignment.exercises[0].name
    write_notebook(root / "syntax_error_in_one_cell", assignment_id, broken_function=first)
    expected["syntax_error_in_one_cell"] = expected_scores(assignment, (first,))
    (root / "malformed_notebook").mkdir(parents=True, exist_ok=True)
    (root / "malformed_notebook" / f"{assignment_id}.ipynb").write_text('{"cells": [ this is not json')
    expected["malformed_notebook"] = expected_scores(assignment, all_lost=True)
    (root / "empty_folder").mkdir(parents=True, exist_ok=True)
    expected["empty_folder"] = expected_scores(assignment, all_lost=True)
    (root / "python_syntax_error").mkdir(parents=True, exist_ok=True)
    (root / "python_syntax_error" / f"{assignment_id}.py").write_text("def weighted_sum(a, w)\n    return 0\n")
    expected["python_syntax_error"] = expected_scores(assignment, all_lost=True)
    return expected
