"""A4 references: the 784-16-16-10 network as a float64 ``keras.Sequential``, and its gradients.

* ``build_model``: the outputs of the reference model (sigmoid hidden layers, softmax output) on
  real digits, given the same weights as the student's model.
* ``backprop``: ``tf.GradientTape`` on the equivalent Keras model, for the cost ½‖a_L − y‖² of
  one example; weights in the course convention ``(n_out, n_in)``, so Keras's kernel gradient is
  transposed back. The hints' wrong variants (no σ′ factor) are GradientTape too: the same model
  with a sigmoid whose backward pass skips σ′ (``straight_through_sigmoid``).
* ``train`` and ``digits.keras`` are measured against real labels (held-out and test digits).
"""
from __future__ import annotations

import functools

import numpy as np

from course.data import load_mnist
from course.exercises.a4_digits import SIZES
from course.exercises.base import Case
from grader.quiet import keras

TRAIN_PUBLIC = dict(n=1000, epochs=10, held_out=1000, min_accuracy=0.75)
"""the self-check's training run: small enough to answer in a second"""
TRAIN_HIDDEN = dict(n=8000, epochs=3, held_out=2000, min_accuracy=0.80)
"""the graded training run, on a random subset drawn per grading seed"""


@functools.lru_cache(maxsize=1)
def _mnist():
    return load_mnist()


def digits(rng: np.random.Generator, n: int, *, train: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random real digits as activations in [0, 1], (n, 784), and their labels (n,)."""
    (x_train, y_train), (x_test, y_test) = _mnist()
    x, y = (x_train, y_train) if train else (x_test, y_test)
    idx = np.sort(rng.choice(len(x), size=n, replace=False))
    return x[idx].reshape(n, 784) / 255.0, y[idx].astype(np.int64)


def random_network(rng: np.random.Generator, sizes, scale: float = 1.0):
    """Weights ``(n_out, n_in)`` ~ N(0, scale²/n_in) and biases ~ N(0, scale²), one per layer."""
    weights = [rng.normal(0.0, scale / np.sqrt(n_in), size=(n_out, n_in)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [rng.normal(0.0, scale, size=n_out) for n_out in sizes[1:]]
    return weights, biases


def _tf():
    keras()  # TensorFlow is imported quietly, through Keras, before anything touches it
    import tensorflow as tf

    return tf


def _straight_through():
    tf = _tf()

    @tf.custom_gradient
    def straight_through_sigmoid(z):
        """σ(z) forward; backward passes the gradient through unchanged (as if σ′ = 1)."""
        return tf.sigmoid(z), lambda upstream: upstream

    return straight_through_sigmoid


def sequential(weights, biases, activations):
    """A float64 ``keras.Sequential`` of Dense layers with these course-convention weights."""
    k = keras()
    layers = [k.Input((np.shape(weights[0])[1],), dtype="float64")]
    layers += [k.layers.Dense(np.shape(W)[0], activation=act, dtype="float64") for W, act in zip(weights, activations)]
    model = k.Sequential(layers)
    for layer, W, b in zip(model.layers, weights, biases):
        layer.set_weights([np.asarray(W, np.float64).T, np.asarray(b, np.float64)])  # kernel = W.T
    return model


def tape_gradients(x, y, weights, biases, activations) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """GradientTape's (nabla_w, nabla_b) of ½‖a_L − y‖² for one example, course convention."""
    tf = _tf()

    model = sequential(weights, biases, activations)
    x = tf.constant(np.asarray(x, np.float64)[None, :])  # (1, n_in): one example as a row
    y = tf.constant(np.asarray(y, np.float64)[None, :])
    with tf.GradientTape() as tape:
        cost = 0.5 * tf.reduce_sum(tf.square(model(x) - y))
    kernels = [layer.kernel for layer in model.layers]
    bias_vars = [layer.bias for layer in model.layers]
    grads = tape.gradient(cost, kernels + bias_vars)
    n = len(kernels)
    return [np.asarray(g).T for g in grads[:n]], [np.asarray(g) for g in grads[n:]]


def _no_sigmoid_prime_variants(x, y, weights, biases) -> list[tuple]:
    """Gradients computed without σ′ at the output only, in the hidden layers only, and everywhere."""
    st, n = _straight_through(), len(weights)
    variants = [["sigmoid"] * (n - 1) + [st], [st] * (n - 1) + ["sigmoid"], [st] * n]
    return [tape_gradients(x, y, weights, biases, acts) for acts in variants]


def _backprop_case(x, y, weights, biases, label: str) -> Case:
    probe = {"no_sigmoid_prime": _no_sigmoid_prime_variants(x, y, weights, biases)}
    return Case((x, y, weights, biases), label=label, probe=probe)


def _backprop_cases(rng: np.random.Generator, hidden: bool) -> list[Case]:
    x, labels = digits(rng, 3 if hidden else 1)
    one_hot = np.eye(10)[labels]
    cases = []
    for i in range(len(x)):
        scale = 3.0 if i == 2 else 1.0  # the third hidden case saturates some sigmoids
        w, b = random_network(rng, SIZES, scale)
        cases.append(_backprop_case(x[i], one_hot[i], w, b, f"a real {labels[i]}, random weights x{scale:g}"))
    small = [(5, 4, 3)] + ([(6, 3, 4, 2)] if hidden else [])
    for sizes in small:
        w, b = random_network(rng, sizes)
        x_s, y_s = rng.uniform(0, 1, sizes[0]), rng.uniform(0, 1, sizes[-1])
        cases.append(_backprop_case(x_s, y_s, w, b, f"a {'-'.join(map(str, sizes))} network"))
    return cases


def _train_case(rng: np.random.Generator, n: int, epochs: int, held_out: int, min_accuracy: float) -> Case:
    x, y = digits(rng, n, train=True)
    test_indices = np.sort(rng.choice(10000, size=held_out, replace=False))
    return Case((x.astype(np.float32), y, epochs), label=f"{n:,} training digits, {epochs} epochs",
                probe={"test_indices": test_indices, "min_accuracy": min_accuracy})


def inputs(rng: np.random.Generator, *, hidden: bool) -> dict[str, list[Case]]:
    forward = []
    for i in range(2 if hidden else 1):
        w, b = random_network(rng, SIZES, 4.0 if i else 1.0)
        x, _ = digits(rng, 8 if hidden else 5)
        forward.append(Case((w, b, x), label=f"given weights (x{4 if i else 1}), on {len(x)} real digits"))
    return {
        "build_model": forward,
        "backprop": _backprop_cases(rng, hidden),
        "train": [_train_case(rng, **(TRAIN_HIDDEN if hidden else TRAIN_PUBLIC))],
        # the test set is fixed, so the model file has one public case and nothing hidden
        "digits.keras": [] if hidden else [Case((), label="the 10,000 MNIST test digits")],
    }


def _forward(case: Case) -> np.ndarray:
    weights, biases, x = case.args
    model = sequential(weights, biases, ["sigmoid"] * (len(weights) - 1) + ["softmax"])
    return np.asarray(model(np.asarray(x, np.float64)))


def _backprop(case: Case):
    x, y, weights, biases = case.args
    return tape_gradients(x, y, weights, biases, ["sigmoid"] * len(weights))


ANSWERS = {
    "build_model": _forward,
    "backprop": _backprop,
    "train": lambda case: True,  # judged by held-out accuracy (see course.exercises.a4_digits)
    "digits.keras": lambda case: _mnist()[1][1].astype(np.int64),  # the test labels
}
