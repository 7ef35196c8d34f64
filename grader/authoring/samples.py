"""Sample submissions made from the reference solution: correct, each typical mistake, and broken.

One catalogue of mistakes per assignment serves the demo class, the tests and the benchmarks.
A mistaken submission is the solution with one function's source replaced, so it should lose
exactly that function's points and show that mistake's hint.
"""
from __future__ import annotations

import ast
import shutil
from dataclasses import dataclass
from pathlib import Path

from grader.authoring import solutions


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


def _backprop(*, delta_out="(activations[-1] - y) * sigmoid_prime(zs[-1])",
              delta_back="(delta @ weights[l]) * sigmoid_prime(zs[l - 1])",
              nabla_w="delta.T @ activations[l]", nabla_b="delta.sum(axis=0)") -> str:
    """A batched backprop with one of its four lines (BP1, BP2, BP4, BP3) replaced."""
    return f"""def backprop(x, y, weights, biases):
    a, y = np.atleast_2d(x), np.atleast_2d(y)
    activations, zs = [a], []
    for W, b in zip(weights, biases):
        z = a @ W.T + b
        a = sigmoid(z)
        zs.append(z)
        activations.append(a)
    nabla_w, nabla_b = [None] * len(weights), [None] * len(biases)
    delta = {delta_out}
    for l in range(len(weights) - 1, -1, -1):
        nabla_w[l] = {nabla_w}
        nabla_b[l] = {nabla_b}
        if l > 0:
            delta = {delta_back}
    return nabla_w, nabla_b
"""


def _build_model(*, hidden="sigmoid", compiled=True) -> str:
    compile_line = ('    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])\n'
                    if compiled else "")
    return (f"def build_model():\n"
            f"    model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(16, activation={hidden!r}),\n"
            f"                              keras.layers.Dense(16, activation={hidden!r}),\n"
            f"                              keras.layers.Dense(10, activation='softmax')])\n"
            f"{compile_line}    return model\n")


def _train(*, update="-") -> str:
    return f"""def train(x_train, y_train, epochs, batch_size=10, eta=3.0, seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0, 1 / np.sqrt(n), size=(m, n)) for n, m in zip(SIZES[:-1], SIZES[1:])]
    biases = [np.zeros(m) for m in SIZES[1:]]
    targets = np.eye(10)[y_train]
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            nabla_w, nabla_b = backprop(x_train[batch], targets[batch], weights, biases)
            weights = [W {update} eta / len(batch) * g for W, g in zip(weights, nabla_w)]
            biases = [b {update} eta / len(batch) * g for b, g in zip(biases, nabla_b)]
    return weights, biases
"""


MISTAKES: dict[str, dict[str, Mistake]] = {
    "a1_neuron": {
        "parameters_without_bias": Mistake("quadratic_logistic_parameters", "def quadratic_logistic_parameters(n):\n"
                                           "    return n + n * (n + 1) // 2\n", "forgot_bias"),
        "parameters_without_linear": Mistake("quadratic_logistic_parameters", "def quadratic_logistic_parameters(n):\n"
                                             "    return n * (n + 1) // 2 + 1\n", "forgot_linear_or_squares"),
        "parameters_n_squared": Mistake("quadratic_logistic_parameters", "def quadratic_logistic_parameters(n):\n"
                                        "    return n + n * n + 1\n", "counted_pairs_twice"),
        "not_summed": Mistake("weighted_sum", "def weighted_sum(a, w):\n    return a * w\n", "not_summed"),
        "forgot_bias": Mistake("weighted_input", "def weighted_input(a, w, b):\n    return weighted_sum(a, w)\n",
                               "forgot_bias"),
        "used_tanh": Mistake("sigmoid", "def sigmoid(z):\n    return np.tanh(z)\n", "used_tanh"),
        "overflowing_sigmoid": Mistake("sigmoid", "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n", "exp_overflow"),
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
    "a4_digits": {
        "missing_sigmoid_prime": Mistake("backprop", _backprop(delta_out="activations[-1] - y",
                                                               delta_back="delta @ weights[l]"),
                                         "missing_sigmoid_prime"),
        "wrong_transpose": Mistake("backprop", _backprop(nabla_w="activations[l].T @ delta"), "wrong_transpose"),
        "bias_summed_wrong_axis": Mistake("backprop", _backprop(nabla_b="delta.sum(axis=1)"), "bias_summed_wrong_axis"),
        "relu_hidden_layers": Mistake("build_model", _build_model(hidden="relu"), None),
        "model_not_compiled": Mistake("build_model", _build_model(compiled=False), None),
        "gradient_ascent": Mistake("train", _train(update="+"), None),
    },
}


def solution_program(assignment_id: str, overrides: dict[str, str] | None = None) -> str:
    """The reference solution as one ``.py`` file (imports, constants, functions), some functions replaced."""
    imports, constants, functions = solutions.program_sources(solutions.notebook_path(assignment_id))
    functions = {**functions, **(overrides or {})}
    head = "\n".join(dict.fromkeys(imports)) + "\n\n" + "\n".join(constants)
    return head + "\n\n\n" + "\n\n\n".join(functions.values()) + "\n"


def write_py(folder: Path, assignment_id: str, overrides: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment_id}.py"
    path.write_text(solution_program(assignment_id, overrides))
    return path


def write_notebook(folder: Path, assignment_id: str, *, released: bool = False,
                   broken_function: str | None = None, overrides: dict[str, str] | None = None,
                   start: Path | None = None) -> Path:
    """The solution (or released stub) notebook; ``broken_function``'s cell gets a syntax error;
    the cell defining each function in ``overrides`` gets that source instead. ``start``: a
    notebook to start from instead (e.g. the solution executed, with its plots as outputs)."""
    import nbformat  # here: the .py classes (benchmarks/scaling.py) need only the `worker` extra

    root = solutions.ASSIGNMENTS if released else solutions.SOLUTIONS
    nb = nbformat.read(start or solutions.notebook_path(assignment_id, root=root), as_version=4)
    if broken_function:
        for cell in nb.cells:
            if cell.cell_type == "code" and f"def {broken_function}(" in cell.source:
                cell.source = cell.source.replace(f"def {broken_function}(", f"def {broken_function}((", 1)
    for name, source in (overrides or {}).items():
        cell = next(c for c in nb.cells if c.cell_type == "code" and f"def {name}(" in c.source)
        cell.source = source
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment_id}.ipynb"
    nbformat.write(nb, path)
    return path


def stub_sources(assignment_id: str) -> dict[str, str]:
    """Every graded function as a released stub would have it: ``raise NotImplementedError()``."""
    _, functions = solutions.function_sources(solutions.notebook_path(assignment_id))
    stubs = {}
    for name, source in functions.items():
        node = ast.parse(source).body[0]
        stubs[name] = f"def {name}({ast.unparse(node.args)}):\n    raise NotImplementedError()\n"
    return stubs


def synthetic_class(assignment_id: str, root: Path, n: int, *, notebooks: bool = False,
                    loops: int = 0, executed: Path | None = None) -> dict[str, dict[str, float]]:
    """A class of ``n`` students for benchmarks and big tests; returns each one's expected scores.

    Half submit the solution, four in ten make one typical mistake (cycling through
    ``MISTAKES``), one in ten hand in the stubs, and ``loops`` of them (spread evenly) hang in
    an infinite loop. ``notebooks`` writes ``.ipynb`` files (the solution notebook, plots and
    all, or ``executed``, the same with its outputs), otherwise ``.py`` files. Each distinct
    file is built once and copied.
    """
    from course import exercises

    assignment = exercises.assignment(assignment_id)
    root = Path(root)
    mistakes = [(k, m) for k, m in MISTAKES.get(assignment_id, {}).items() if k != "infinite_loop"]
    loop = MISTAKES.get(assignment_id, {}).get("infinite_loop")
    loopers = {round((i + 0.5) * n / loops) for i in range(loops)} if loops and loop else set()
    cache: dict[str, bytes] = {}
    scratch = root / ".build"

    def variant(key: str, overrides: dict[str, str] | None, released: bool = False) -> bytes:
        if key not in cache:
            folder = scratch / key
            path = (write_notebook(folder, assignment_id, overrides=overrides, released=released,
                                   start=None if released else executed) if notebooks
                    else write_py(folder, assignment_id, overrides))
            cache[key] = path.read_bytes()
        return cache[key]

    expected = {}
    suffix = ".ipynb" if notebooks else ".py"
    for i in range(n):
        student = f"student_{i:05d}"
        if i in loopers:
            data, lost = variant("loop", {loop.function: loop.source}), (loop.function,)
        elif i % 10 < 5 or not mistakes:
            data, lost = variant("correct", None), ()
        elif i % 10 < 9:
            key, mistake = mistakes[i % len(mistakes)]
            data, lost = variant(key, {mistake.function: mistake.source}), (mistake.function,)
        else:
            data = variant("stub", None, released=True) if notebooks else variant("stub", stub_sources(assignment_id))
            lost = assignment.names
        folder = root / student
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{assignment_id}{suffix}").write_bytes(data)
        expected[student] = expected_scores(assignment, lost)
    shutil.rmtree(scratch, ignore_errors=True)
    return expected


def expected_scores(assignment, lost: tuple[str, ...] = (), *, all_lost: bool = False) -> dict[str, float]:
    return {ex.name: 0.0 if all_lost or ex.name in lost else float(ex.points) for ex in assignment.exercises}


def sample_class(assignment_id: str, root: Path, *, with_loop: bool = True,
                 artifacts: dict[str, Path] | None = None) -> dict[str, dict[str, float]]:
    """Write a small class under ``root``; returns the per-function scores each student should get.

    ``artifacts`` (e.g. ``{"digits.keras": path}``) are copied next to every submission that has
    working code; an artifact exercise without one is lost by everybody.
    """
    from course import exercises

    assignment = exercises.assignment(assignment_id)
    root = Path(root)
    artifacts = artifacts or {}
    no_file = tuple(ex.name for ex in assignment.exercises if ex.artifact and ex.artifact not in artifacts)

    def add_artifacts(folder: Path) -> None:
        for name, path in artifacts.items():
            shutil.copyfile(path, folder / name)

    expected = {}
    write_notebook(root / "ada_solution_notebook", assignment_id)
    expected["ada_solution_notebook"] = expected_scores(assignment, no_file)
    write_py(root / "ben_correct_py", assignment_id)
    expected["ben_correct_py"] = expected_scores(assignment, no_file)
    for name, mistake in MISTAKES.get(assignment_id, {}).items():
        if name == "infinite_loop" and not with_loop:
            continue
        student = f"mistake_{name}"
        write_py(root / student, assignment_id, {mistake.function: mistake.source})
        expected[student] = expected_scores(assignment, (mistake.function, *no_file))
    write_notebook(root / "stub_released_notebook", assignment_id, released=True)
    expected["stub_released_notebook"] = expected_scores(assignment, all_lost=True)
    first = assignment.exercises[0].name
    write_notebook(root / "syntax_error_in_one_cell", assignment_id, broken_function=first)
    expected["syntax_error_in_one_cell"] = expected_scores(assignment, (first, *no_file))
    for student in ("ada_solution_notebook", "ben_correct_py", "syntax_error_in_one_cell",
                    *(s for s in expected if s.startswith("mistake_"))):
        add_artifacts(root / student)
    (root / "malformed_notebook").mkdir(parents=True, exist_ok=True)
    (root / "malformed_notebook" / f"{assignment_id}.ipynb").write_text('{"cells": [ this is not json')
    expected["malformed_notebook"] = expected_scores(assignment, all_lost=True)
    (root / "empty_folder").mkdir(parents=True, exist_ok=True)
    expected["empty_folder"] = expected_scores(assignment, all_lost=True)
    (root / "python_syntax_error").mkdir(parents=True, exist_ok=True)
    (root / "python_syntax_error" / f"{assignment_id}.py").write_text("def weighted_sum(a, w)\n    return 0\n")
    expected["python_syntax_error"] = expected_scores(assignment, all_lost=True)
    return expected
