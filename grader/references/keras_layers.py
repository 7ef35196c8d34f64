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
