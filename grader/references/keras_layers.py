"""Small float64 Keras models built from course-convention weights, for computing references.

The course writes a layer as ``sigmoid(W @ a + b)`` with ``W`` of shape ``(n_out, n_in)``;
Keras stores the kernel as ``(n_in, n_out)``, i.e. ``W.T``. Everything here runs in float64 so
that references are exact to ~1e-12 and tolerances can be tight.
"""
from __future__ import annotations

import numpy as np

from grader.quiet import keras


def dense(W: np.ndarray, b: np.ndarray | None, activation: str | None = None):
    """A built ``keras.layers.Dense`` computing ``activation(W @ a + b)``; ``W``: (n_out, n_in)."""
    k = keras()
    W = np.asarray(W, dtype=np.float64)
    layer = k.layers.Dense(W.shape[0], activation=activation, use_bias=b is not None, dtype="float64")
    layer.build((None, W.shape[1]))
    layer.set_weights([W.T] + ([np.asarray(b, dtype=np.float64)] if b is not None else []))
    return layer


def run(layer, a: np.ndarray) -> np.ndarray:
    """The layer's output for a batch ``a``: (batch, n_in) -> (batch, n_out), as NumPy."""
    return np.asarray(layer(np.asarray(a, dtype=np.float64)))


def activation(name: str, z) -> np.ndarray:
    """``keras.activations.<name>`` applied to ``z`` in float64, as NumPy (same shape as ``z``)."""
    fn = getattr(keras().activations, name)
    return np.asarray(fn(np.asarray(z, dtype=np.float64)))


def sequential(weights, biases, activation: str = "sigmoid"):
    """A float64 ``keras.Sequential`` of Dense layers computing the course's feedforward.

    Args:
        weights: list of (n_out, n_in) arrays, course convention; layer l's kernel is ``weights[l].T``.
        biases: list of (n_out,) arrays.
        activation: the activation of every layer.
    """
    k = keras()
    n_in = np.shape(weights[0])[1]
    # fixed names: Keras's automatic ones count up per process, and the names reach the fixtures
    model = k.Sequential([k.Input((n_in,), dtype="float64")] + [
        k.layers.Dense(np.shape(W)[0], activation=activation, dtype="float64", name=f"dense_{i}")
        for i, W in enumerate(weights)], name="sequential")
    model.set_weights([np.asarray(x, dtype=np.float64) for W, b in zip(weights, biases) for x in (np.transpose(W), b)])
    return model


def from_keras_like(stand_in):
    """The real float64 Keras model a ``course.keraslike.KerasLikeModel`` describes (same arrays)."""
    k = keras()
    model = k.Sequential([k.Input((stand_in.sizes[0],), dtype="float64")] + [
        k.layers.Dense(layer.units, activation=layer.activation_name, dtype="float64", name=layer.name)
        for layer in stand_in.layers], name=stand_in.name)
    model.set_weights([np.asarray(w, dtype=np.float64) for w in stand_in.get_weights()])
    return model


def course_weights(model) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The course-convention ``(weights, biases)`` of a Keras model of Dense layers, read off its behaviour.

    For each layer, a linear float64 copy is fed the zero vector (its output is ``b``) and the n_in
    unit vectors (row i of the output is ``W[:, i] + b``), so ``W`` is whatever matrix makes
    ``W @ a + b`` equal to what Keras computes, whatever Keras's storage layout.
    """
    weights, biases = [], []
    for layer in model.layers:
        kernel, bias = layer.get_weights()
        n_in = kernel.shape[0]
        linear = dense_from_kernel(kernel, bias)
        b = run(linear, np.zeros((1, n_in)))[0]
        weights.append((run(linear, np.eye(n_in)) - b).T)  # (n_out, n_in)
        biases.append(b)
    return weights, biases


def dense_from_kernel(kernel: np.ndarray, bias: np.ndarray, activation: str | None = None):
    """A built float64 ``keras.layers.Dense`` with this Keras-layout ``kernel`` (n_in, n_out)."""
    layer = keras().layers.Dense(np.shape(kernel)[1], activation=activation, dtype="float64")
    layer.build((None, np.shape(kernel)[0]))
    layer.set_weights([np.asarray(kernel, dtype=np.float64), np.asarray(bias, dtype=np.float64)])
    return layer


def count_params(sizes) -> int:
    """``model.count_params()`` of a Keras Sequential of Dense layers with these sizes (input first)."""
    k = keras()
    model = k.Sequential([k.Input((int(sizes[0]),))] + [k.layers.Dense(int(n)) for n in sizes[1:]])
    return int(model.count_params())
