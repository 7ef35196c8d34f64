"""NumPy helpers shared by the assignments' hints, which recompute classic mistakes to name them."""
from __future__ import annotations

import numpy as np


def close(got, value) -> bool:
    """Whether ``got`` has ``value``'s shape and values (numpy tolerances); False for anything odd."""
    try:
        got = np.asarray(got, dtype=np.float64)
        value = np.asarray(value, dtype=np.float64)
        return got.shape == value.shape and bool(np.allclose(got, value, rtol=1e-5, atol=1e-6))
    except (TypeError, ValueError):
        return False


def sigmoid(z):
    """1 / (1 + e^(-z)), element-wise, in float64, computed without overflow."""
    return 0.5 * (1 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))
