"""A1 references: one neuron, as a ``keras.layers.Dense(1)``.

The opening exercise counts the parameters of a logistic model on quadratic features: the model
is built in Keras (pixels -> every x_i and every product x_i·x_j, i <= j -> ``Dense(1, sigmoid)``)
and asked for ``count_params()``; nothing here writes the count's formula.

Inputs mix real MNIST digits (activations = pixels / 255) with random weights, plus the edge
cases a mistake could hide behind: saturating |z| up to 1e4, a threshold of exactly 0 with a
weighted sum of exactly 0, non-square and corner regions.
"""
from __future__ import annotations

import numpy as np

from course.data import load_mnist
from course.exercises.a1_neuron import BIAS, region_mask
from course.exercises.base import Case
from grader.quiet import keras
from grader.references.keras_layers import activation, dense, run

PIXELS_PUBLIC = (784, 2500, 4, 2)
"""a 28x28 MNIST digit, a 50x50 image, a 2x2 image and two pixels (the lesson's worked example)"""
PIXELS_HIDDEN = (1, 3, 9, 100, 400)
"""one pixel, odd sizes, a 10x10 and a 20x20 image; plus one size drawn per run"""


def digits(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` random real test digits as activations in [0, 1], shape (n, 784)."""
    (_, _), (x_test, _) = load_mnist()
    return x_test[rng.choice(len(x_test), size=n, replace=False)].reshape(n, 784) / 255.0


def a_seven() -> np.ndarray:
    (_, _), (x_test, y_test) = load_mnist()
    return x_test[np.flatnonzero(y_test == 7)[0]].reshape(784) / 255.0


def inputs(rng: np.random.Generator, *, hidden: bool) -> dict[str, list[Case]]:
    n = 4 if hidden else 3
    a = digits(rng, n)
    w = rng.normal(0, 0.1, size=(n, 784))
    b = rng.normal(0, 2, size=n)
    small = rng.uniform(0, 1, size=5), rng.normal(size=5)
    vec = [Case((a[i], w[i]), label="a real digit") for i in range(n)] + [Case(small, label="5 inputs")]
    with_bias = [Case((a[i], w[i], float(b[i])), label="a real digit") for i in range(n)]
    with_bias.append(Case((*small, -3.5), label="5 inputs, negative bias"))
    z_cases = [Case((0.0,), label="z = 0"), Case((rng.normal(0, 3, size=7),), label="a vector"),
               Case((rng.normal(0, 3, size=(3, 4)),), label="a 3x4 matrix")]
    if hidden:
        z_cases += [Case((np.array([-1e4, -800.0, -50.0, 50.0, 800.0, 1e4]),), label="saturating |z| up to 1e4"),
                    Case((-1e4,), label="z = -1e4 as a float")]
    else:
        z_cases.append(Case((np.array([-1e4, -40.0, 40.0, 1e4]),), label="large |z|"))
    thresholds = [Case((a[i], w[i], float(abs(b[i]))), label="a real digit") for i in range(n)]
    thresholds.append(Case((small[0], small[1], 0.0), label="threshold 0"))
    if hidden:
        zero = np.zeros(784)
        thresholds += [Case((zero, w[0], 0.0), label="weighted sum exactly 0, threshold 0"),
                       Case((np.ones(3), np.array([1.0, 2.0, 3.0]), 6.0), label="sum exactly at the threshold"),
                       Case((np.ones(3), np.array([1.0, 2.0, 3.0]), -5.0), label="negative threshold")]
    regions = [(0, 0, 28, 28), (5, 3, 4, 20)]
    regions += [(2, 20, 10, 6), (22, 0, 6, 28), (10, 12, 1, 3)] if hidden else [(14, 0, 14, 28)]
    probe = np.vstack([a_seven(), digits(rng, 7)])
    edges = [Case(tuple(int(v) for v in r), label=f"region {r}", probe=probe) for r in regions]
    pixels = list(PIXELS_HIDDEN) + [int(rng.integers(5, 3000))] if hidden else list(PIXELS_PUBLIC)
    counts = [Case((n,), label=_image_label(n)) for n in pixels]
    return {
        "quadratic_logistic_parameters": counts,
        "weighted_sum": vec,
        "weighted_input": with_bias,
        "sigmoid": z_cases,
        "relu": list(z_cases),
        "neuron": with_bias,
        "fires": thresholds,
        "edge_detector": edges,
    }


def _image_label(n: int) -> str:
    side = int(round(n ** 0.5))
    return f"n = {n} pixels" + (f" ({side}x{side} image)" if side * side == n and n > 1 else "")


def quadratic_features(x):
    """Every pixel and every product of two pixels, as Keras ops on a batch.

    Args:
        x: (batch, n) pixels, a Keras tensor (symbolic or not).

    Returns:
        (batch, n + n(n+1)/2): ``x_1 .. x_n`` then ``x_i * x_j`` for every pair i <= j (squares
        included), in ``np.triu_indices`` order.
    """
    ops = keras().ops
    i, j = np.triu_indices(int(x.shape[-1]))  # every unordered pair, each once: (i, j) with i <= j
    return ops.concatenate([x, ops.take(x, i, axis=1) * ops.take(x, j, axis=1)], axis=1)


def quadratic_logistic_model(n: int):
    """Logistic regression on the quadratic features of ``n`` pixels: one ``Dense(1, sigmoid)``."""
    k = keras()
    pixels = k.Input((n,))
    return k.Model(pixels, k.layers.Dense(1, activation="sigmoid")(quadratic_features(pixels)))


def _one_neuron(case: Case, *, bias: bool, activation_name: str | None = None) -> float:
    a, w = np.asarray(case.args[0]), np.asarray(case.args[1])
    b = np.array([case.args[2]]) if bias else None
    return float(run(dense(w[None, :], b, activation_name), a[None, :])[0, 0])


def _activation(name):
    def answer(case: Case):
        z = case.args[0]
        out = activation(name, z)
        return float(out) if np.ndim(z) == 0 else out
    return answer


def _fires(case: Case) -> bool:
    a, w, threshold = case.args
    return bool(run(dense(np.asarray(w)[None, :], np.array([-threshold])), np.asarray(a)[None, :])[0, 0] > 0)


def _edge_outputs(case: Case) -> np.ndarray:
    weights = region_mask(*case.args).reshape(1, 784)
    return run(dense(weights, np.array([BIAS])), case.probe)[:, 0]


ANSWERS = {
    "quadratic_logistic_parameters": lambda c: int(quadratic_logistic_model(int(c.args[0])).count_params()),
    "weighted_sum": lambda c: _one_neuron(c, bias=False),
    "weighted_input": lambda c: _one_neuron(c, bias=True),
    "sigmoid": _activation("sigmoid"),
    "relu": _activation("relu"),
    "neuron": lambda c: _one_neuron(c, bias=True, activation_name="sigmoid"),
    "fires": _fires,
    "edge_detector": _edge_outputs,
}
