"""A2 references: one dense layer, as a ``keras.layers.Dense`` with kernel ``W.T``.

Inputs mix real MNIST digits with random weights, single examples and batches (rows), sigmoid
and ReLU, and the shapes a mistake could hide behind or be caught by: non-square ``W`` (a
transposed kernel can't pass), square ``W`` (so a transposed kernel gives a *wrong number*
that the hint can name), a batch as big as the layer (so a bias added along the wrong axis
gives wrong numbers rather than a shape error), a batch of one, and saturating inputs.
"""
from __future__ import annotations

import numpy as np

from course.exercises.base import Case
from grader.references.a1_neuron import digits
from grader.references.keras_layers import count_params, dense, run


def _layer(rng, n_out: int, n_in: int, scale: float = 0.1):
    return rng.normal(0, scale, size=(n_out, n_in)), rng.normal(0, 1, size=n_out)


def _hidden_activations(rng, *shape):
    return rng.uniform(0, 1, size=shape)


def inputs(rng: np.random.Generator, *, hidden: bool) -> dict[str, list[Case]]:
    x = digits(rng, 16)
    W1, b1 = _layer(rng, 16, 784)
    W2, b2 = _layer(rng, 16, 16, scale=1.0)
    W3, b3 = _layer(rng, 10, 16, scale=1.0)
    small_W, small_b = _layer(rng, 3, 5, scale=1.0)
    layer = [
        Case((x[0], W1, b1), label="a real digit into 16 sigmoid neurons"),
        Case((x[:5], W1, b1), {"activation": "relu"}, label="a batch of 5 digits, ReLU"),
        Case((_hidden_activations(rng, 16), W2, b2), label="16 -> 16 (square W), one example"),
        Case((_hidden_activations(rng, 10, 16), W3, b3), label="a batch of 10 into 10 neurons"),
        Case((rng.uniform(0, 1, 5), small_W, small_b), {"activation": "relu"}, label="5 -> 3, ReLU"),
    ]
    if hidden:
        W_big, b_big = _layer(rng, 10, 784, scale=2.0)
        layer += [
            Case((x, W1, b1), {"activation": "sigmoid"}, label="a batch of 16 digits"),
            Case((_hidden_activations(rng, 16, 16), W2, b2, "relu"), label="a batch of 16, 16 -> 16, ReLU"),
            Case((x[:1], W3 @ W1 / 4, b3), label="a batch of one digit, 784 -> 10"),
            Case((_hidden_activations(rng, 16), W3, b3), label="16 -> 10, one example"),
            Case((x[3:7], W_big, b_big), label="saturating neurons (large weights)"),
            Case((rng.uniform(0, 1, (3, 5)), small_W, small_b), {"activation": "sigmoid"}, label="5 -> 3, batch of 3"),
        ]
    kernels = [Case((W,), label=f"W of shape {W.shape}") for W in (W1, W3, W2, small_W)]
    if hidden:
        kernels += [Case((rng.normal(size=shape),), label=f"W of shape {shape}") for shape in ((7, 3), (1, 5), (4, 4))]
    sizes = [[784, 16, 16, 10], [784, 10], [2, 3, 1]]
    if hidden:
        sizes += [[784, 30, 10], [784, 100, 50, 10], [5, 5, 5, 5], [1, 1], (784, 16, 16, 10)]
    return {
        "to_keras_kernel": kernels,
        "layer_forward": layer,
        "count_parameters": [Case((s,), label=f"sizes {list(s)}") for s in sizes],
    }


def _layer_forward(case: Case) -> np.ndarray:
    a, W, b = case.args[:3]
    activation = case.kwargs.get("activation", case.args[3] if len(case.args) > 3 else "sigmoid")
    batch = np.ndim(a) == 2
    out = run(dense(W, b, activation), a if batch else np.asarray(a)[None, :])  # (batch, n_out)
    return out if batch else out[0]


ANSWERS = {
    "to_keras_kernel": lambda c: dense(c.args[0], None).get_weights()[0],
    "layer_forward": _layer_forward,
    "count_parameters": lambda c: count_params(c.args[0]),
}
