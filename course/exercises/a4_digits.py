"""A4 "train the digit recognizer": the graded functions and artifact, and the mistakes we can name.

``build_model`` and ``digits.keras`` are Keras models: the sandboxed child turns them into plain
data (``course.models``; the saved file is read without Keras, by ``course.kerasfile``) and the
checks here judge that data. ``backprop`` is compared with
``tf.GradientTape`` (``grader.references.a4_digits``); its hints compare a wrong answer with
variants that GradientTape also computed (``case.probe``), so no backprop is written here.
``train`` is judged by the held-out accuracy its weights reach, ``digits.keras`` by its MNIST
test accuracy, on a partial-credit scale.
"""
from __future__ import annotations

import numpy as np

from course import models
from course.compare import compare, validate_array
from course.data import load_mnist
from course.exercises import nielsen
from course.exercises.base import Assignment, Exercise, Hint, Scale

SIZES = (784, 16, 16, 10)
"""the network: 784 pixels, two hidden layers of 16 neurons, 10 outputs"""
N_PARAMETERS = 13002
"""784*16 + 16*16 + 16*10 weights and 16 + 16 + 10 biases"""
HIDDEN_ACTIVATION = "sigmoid"
OUTPUT_ACTIVATION = "softmax"
"""build_model's output layer: ten probabilities that add up to 1"""
DIGITS_SCALE = Scale(zero=0.84, full=0.94, what="test accuracy")
"""digits.keras: full points from 94 % on the 10,000 MNIST test digits; each point below costs a tenth"""


def _arch(sizes) -> str:
    return "-".join(str(s) for s in sizes)


def dense_stack(info: dict) -> list[dict] | str:
    """The model's Dense layers, with an ``Activation`` layer folded into the Dense before it.

    Returns:
        ``[{"units", "activation", "n_in"}]``, or a sentence saying why the model is not a plain
        stack of Dense layers. Dropout (inactive when predicting) is allowed.
    """
    stack: list[dict] = []
    for layer in info["layers"]:
        kind = layer["class"]
        if kind == "Dense":
            if not layer["use_bias"]:
                return f"Dense layer {len(stack) + 1} has no biases (use_bias=False); every neuron needs one"
            shape = layer["kernel_shape"]
            stack.append({"units": layer["units"], "activation": layer["activation"],
                          "n_in": shape[0] if shape else None})
        elif kind == "Activation" and stack and stack[-1]["activation"] == "linear":
            stack[-1]["activation"] = layer["activation"]
        elif kind in ("Dropout", "InputLayer"):
            continue
        else:
            return (f"the model has a {kind} layer; this network is only Dense layers "
                    f"{_arch(SIZES)} (start with keras.Input(shape=(784,)) for flattened digits)")
    return stack


def architecture_problem(info: dict, *, what: str, output_activation: str | None) -> str:
    """Why a described model is not the 784-16-16-10 network with sigmoid hidden layers ("" if it is).

    Args:
        info: ``course.models.describe(model)``.
        what: how to name the model in messages, e.g. ``"build_model()"``.
        output_activation: the output layer's required activation, or None to accept any.
    """
    if not info.get("keras"):
        return f"{what} should be a keras.Sequential model; got a {info.get('type')}"
    if not info.get("built"):
        return (f"{what} has no input size yet, so Keras can't count its parameters: start the "
                "Sequential with keras.Input(shape=(784,))")
    stack = dense_stack(info)
    if isinstance(stack, str):
        return f"{what}: {stack}"
    got = [stack[0]["n_in"] if stack else None] + [layer["units"] for layer in stack]
    if tuple(got) != SIZES:
        return (f"{what} should have Dense layers {_arch(SIZES)} (784 inputs, 16, 16 and 10 neurons); "
                f"it has {_arch(got)}")
    for i, layer in enumerate(stack[:-1], start=1):
        if layer["activation"] != HIDDEN_ACTIVATION:
            return (f"{what}: hidden layer {i} uses {layer['activation']}; this network's hidden layers "
                    f"use {HIDDEN_ACTIVATION} (ReLU is the variant to explore, not the one graded)")
    last = stack[-1]["activation"]
    if output_activation and last != output_activation:
        return (f"{what}: the output layer uses {last}; it should use {output_activation}, so the ten "
                "outputs are probabilities that add up to 1")
    if info.get("params") != N_PARAMETERS:
        return f"{what} has {info.get('params')} parameters; {_arch(SIZES)} has {N_PARAMETERS:,}"
    return ""


def _model_data(got) -> dict:
    if not (isinstance(got, dict) and isinstance(got.get("model"), dict)):
        raise ValueError(f"the sandbox returned no description of the model ({type(got).__name__})")
    return got


def model_outputs(case, got) -> np.ndarray:
    """build_model: check the architecture, then return its outputs with the case's weights."""
    got = _model_data(got)
    info = got["model"]
    problem = architecture_problem(info, what="build_model()", output_activation=OUTPUT_ACTIVATION)
    if problem:
        raise ValueError(problem)
    if not info.get("compiled"):
        raise ValueError("the model is not compiled: call model.compile(optimizer=..., loss=..., "
                         "metrics=[...]) before returning it")
    if got.get("outputs") is None:
        raise ValueError(f"the model could not run with the test weights: {got.get('problem') or 'no outputs'}")
    return got["outputs"]


def model_file_accuracy(case, got) -> float:
    """digits.keras: check the architecture, then the accuracy of its predictions on the test set."""
    if not (isinstance(got, dict) and (isinstance(got.get("model"), dict) or got.get("problem"))):
        raise ValueError("the sandbox returned nothing about digits.keras")
    if got.get("model") is None:
        raise ValueError(f"digits.keras {got.get('problem')}")
    problem = architecture_problem(got["model"], what="the model in digits.keras", output_activation=None)
    if problem:
        raise ValueError(f"{problem}. Only the {_arch(SIZES)} network with sigmoid hidden layers earns points.")
    if got.get("problem"):
        raise ValueError(f"digits.keras {got['problem']}")
    labels = np.asarray(case.expected)
    outputs = got.get("outputs")
    shape_problem = validate_array(outputs, np.zeros((labels.size, 10)))
    if shape_problem:
        raise ValueError(f"the model's predictions on the {labels.size:,} test digits: {shape_problem}")
    return float(np.mean(np.argmax(outputs, axis=1) == labels))


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))  # stable, no exp overflow


def network(got, sizes=SIZES) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Check that ``got`` is ``(weights, biases)`` for ``sizes`` in the course convention.

    Raises:
        ValueError: naming the first array that is missing or has the wrong shape.
    """
    if not (isinstance(got, (list, tuple)) and len(got) == 2):
        raise ValueError("train should return a pair (weights, biases)")
    weights, biases = got
    n = len(sizes) - 1
    for name, arrays in (("weights", weights), ("biases", biases)):
        if not (isinstance(arrays, (list, tuple)) and len(arrays) == n):
            raise ValueError(f"{name} should be a list of {n} arrays, one per layer")
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        for name, array, shape in ((f"weights[{i}]", weights[i], (n_out, n_in)), (f"biases[{i}]", biases[i], (n_out,))):
            problem = validate_array(array, np.zeros(shape), f"{name}: ")
            if problem:
                raise ValueError(problem)
    return [np.asarray(w, np.float64) for w in weights], [np.asarray(b, np.float64) for b in biases]


def heldout_accuracy(case, got) -> bool:
    """train: the accuracy the returned weights reach on held-out test digits, against the bar."""
    weights, biases = network(got)
    (_, _), (x_test, y_test) = load_mnist()
    idx = np.asarray(case.probe["test_indices"])
    a = x_test[idx].reshape(-1, 784) / 255.0  # (m, 784)
    for W, b in zip(weights, biases):
        a = _sigmoid(a @ W.T + b)  # (m, n_out): the course's network, sigmoid at every layer
    accuracy = float(np.mean(np.argmax(a, axis=1) == y_test[idx]))
    need = float(case.probe["min_accuracy"])
    if accuracy < need:
        n, epochs = len(case.args[1]), case.args[2]
        raise ValueError(f"after training on {n:,} digits for {epochs} epochs, the network gets {accuracy:.1%} "
                         f"of {idx.size:,} held-out digits right; it should get at least {need:.0%}. "
                         "Check the update w -> w - (eta/m) * nabla_w (a minus sign, the batch size m), a "
                         "learning rate around 3, and that every mini-batch of a shuffled epoch is used.")
    return True


def _pair(got):
    """``(nabla_w, nabla_b)`` as lists of float arrays, or None if ``got`` isn't shaped like that."""
    try:
        nabla_w, nabla_b = got
        return [np.asarray(g, np.float64) for g in nabla_w], [np.asarray(g, np.float64) for g in nabla_b]
    except (TypeError, ValueError):
        return None


def _same(a, b) -> bool:
    return compare(a, b, rtol=1e-6, atol=1e-10) is None


def _matches_variant(case, got) -> bool:
    pair = _pair(got)
    return pair is not None and any(_same(pair, tuple(v)) for v in case.probe["no_sigmoid_prime"])


def _transposed(case, got) -> bool:
    pair = _pair(got)
    expected_w, expected_b = case.expected
    return (pair is not None and len(pair[0]) == len(expected_w)
            and all(_same(g.T, e) for g, e in zip(pair[0], expected_w))
            and any(e.shape[0] != e.shape[1] for e in expected_w))


def _bias_summed_wrong_axis(case, got) -> bool:
    pair = _pair(got)
    expected_b = case.expected[1]
    if pair is None or len(pair[1]) != len(expected_b):
        return False
    wrong = [g.size == 1 and np.isclose(g.item(), e.sum(), rtol=1e-6, atol=1e-10) for g, e in zip(pair[1], expected_b)]
    return any(wrong) and all(w or _same(g, e) for w, g, e in zip(wrong, pair[1], expected_b))


def _reversed(case, got) -> bool:
    pair = _pair(got)
    expected_w, expected_b = case.expected
    return pair is not None and _same(pair, (list(expected_w)[::-1], list(expected_b)[::-1]))


ASSIGNMENT = Assignment(
    id="a4_digits",
    title="Train the digit recognizer",
    exercises=(
        Exercise("build_model", points=2, needs=("keras",), adapter=models.built_model,
                 transform=model_outputs, rtol=1e-4, atol=1e-6, timeout=60.0),
        Exercise("backprop", points=4, rtol=1e-6, atol=1e-10, timeout=20.0, hints=(
            nielsen.dot_not_outer(),
            nielsen.columns_meet_vectors_hint(),
            nielsen.GRADIENTS_SWAPPED,
            nielsen.COLUMN_GRADIENTS,
            Hint("missing_sigmoid_prime", "these are the gradients without the factor σ'(z): the error of a layer "
                 "is delta = (a - y) * σ'(z) at the output (BP1) and (W^T delta) * σ'(z) below it (BP2), "
                 "with σ'(z) = σ(z)(1 - σ(z)).", _matches_variant),
            Hint("wrong_transpose", "each nabla_w[l] is the transpose of the right one: in the course's convention "
                 "it has the shape of weights[l], (n_out, n_in), which is np.outer(delta, a_previous) (BP4).",
                 _transposed),
            Hint("bias_summed_wrong_axis", "nabla_b[l] should hold one number per neuron, shape (n_out,). You added "
                 "up the deltas of all the neurons: with examples as rows, sum over the examples (axis=0), "
                 "not over the neurons (BP3: dC/db = delta).", _bias_summed_wrong_axis),
            Hint("layers_reversed", "the gradients are right but in reverse order: nabla_w[0] belongs to the first "
                 "layer (weights[0]), even though backpropagation computes it last.", _reversed),
        )),
        Exercise("train", points=2, calls=("backprop", "sigmoid", "sigmoid_prime"),
                 transform=heldout_accuracy, timeout=120.0, hints=(
            nielsen.columns_meet_vectors_hint(SIZES),
            nielsen.dot_not_outer(SIZES),
            nielsen.BACKPROP_GIVEN_ROWS,
            nielsen.COLUMN_BIASES_RETURNED,
            nielsen.BOOK_WEIGHT_INIT,
        )),
        # read by course.kerasfile (zip + HDF5, NumPy forward pass): no Keras, no TensorFlow
        Exercise("digits.keras", points=2, artifact="digits.keras",
                 adapter=models.saved_model, transform=model_file_accuracy, scale=DIGITS_SCALE, timeout=60.0),
    ),
)
