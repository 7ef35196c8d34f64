"""Compare a returned value with the reference answer and say, in a student's terms, what is off.

``compare(got, expected)`` returns ``None`` when they agree and otherwise one sentence: expected
vs got, shape and dtype problems, NaN/inf, a Python list where an array was due. It only reads
plain data (see ``course.codec``), so a returned object can never vouch for itself: equality is
decided here, on raw numbers, with ``numpy`` tolerances.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from course.codec import Unsupported


def describe(v) -> str:
    if v is None:
        return "None"
    if isinstance(v, Unsupported):
        return f"a {v.type_name}" + (f" ({v.detail})" if v.detail else "")
    if isinstance(v, np.ndarray):
        return f"an array of shape {v.shape} and dtype {v.dtype}"
    if isinstance(v, np.generic):
        return f"a NumPy {v.dtype} scalar {v.item()!r}"
    if isinstance(v, (list, tuple)):
        return f"a Python {type(v).__name__} of length {len(v)}"
    return f"{type(v).__name__} {v!r}"


def _is_bool(v) -> bool:
    return isinstance(v, (bool, np.bool_))


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not _is_bool(v)


def _is_real_scalar(v) -> bool:
    if isinstance(v, np.ndarray):
        return v.ndim == 0 and v.dtype.kind in "iuf"
    return isinstance(v, (numbers.Real, np.integer, np.floating)) and not _is_bool(v)


def compare(got, expected, *, rtol: float = 1e-5, atol: float = 1e-6, path: str = "") -> str | None:
    """``None`` if ``got`` matches ``expected``, else a sentence saying how it does not.

    Args:
        got: the student's value, as decoded plain data.
        expected: the reference value: bool, int, float, str, ndarray, or a list/tuple of them.
        rtol, atol: tolerances for floating-point values, as in ``numpy.allclose``.
        path: where in a nested answer we are, e.g. ``"weights[1]"``, for messages.
    """
    at = f"{path}: " if path else ""
    if got is None:
        return f"{at}returned None: did you forget the `return` statement?"
    if isinstance(got, Unsupported):
        return f"{at}returned {describe(got)}, which is not plain data the grader can check"
    if _is_bool(expected):
        if not _is_bool(got):
            return f"{at}expected True or False, got {describe(got)}"
        return None if bool(got) == bool(expected) else f"{at}expected {bool(expected)}, got {bool(got)}"
    if _is_int(expected):
        if not _is_int(got):
            hint = ": use int(...)" if _is_real_scalar(got) else ""
            return f"{at}expected an int, got {describe(got)}{hint}"
        return None if int(got) == int(expected) else f"{at}expected {int(expected)}, got {int(got)}"
    if isinstance(expected, str):
        return None if got == expected else f"{at}expected {expected!r}, got {describe(got)}"
    if isinstance(expected, (list, tuple)):
        if not isinstance(got, (list, tuple)):
            return f"{at}expected a {type(expected).__name__} of {len(expected)} items, got {describe(got)}"
        if len(got) != len(expected):
            return f"{at}expected {len(expected)} items, got {len(got)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            problem = compare(g, e, rtol=rtol, atol=atol, path=f"{path or 'item'}[{i}]")
            if problem:
                return problem
        return None
    expected = np.asarray(expected)
    if expected.ndim == 0:
        return _compare_scalar(got, float(expected), rtol, atol, at)
    return _compare_array(got, expected, rtol, atol, at)


def _compare_scalar(got, expected: float, rtol, atol, at) -> str | None:
    if isinstance(got, np.ndarray) and got.ndim > 0:
        tip = ": use .item() or float(...)" if got.size == 1 else ""
        return f"{at}expected a single number, got {describe(got)}{tip}"
    if not _is_real_scalar(got):
        return f"{at}expected a number, got {describe(got)}"
    value = float(got)
    if not math.isfinite(value):
        return f"{at}expected {expected:.6g}, got {value}"
    # np.isclose's rule, without its cost on scalars: |got - expected| <= atol + rtol * |expected|
    close = math.isfinite(expected) and abs(value - expected) <= atol + rtol * abs(expected) or value == expected
    if not close:
        return f"{at}expected {expected:.6g}, got {value:.6g}"
    return None


def _shape_tip(got: tuple, expected: tuple) -> str:
    if got == expected[::-1]:
        return ": is it transposed?"
    if len(got) > len(expected) and tuple(d for d in got if d != 1) == expected:
        return ": did you forget to flatten?"
    if len(got) < len(expected) and int(np.prod(got)) == int(np.prod(expected)):
        return ": did you flatten away an axis (e.g. the batch axis)?"
    return ""


def validate_array(got, expected: np.ndarray, at: str = "") -> str | None:
    """``None`` if ``got`` is a finite real array shaped like ``expected``, else what is wrong."""
    if isinstance(got, list):
        return f"{at}expected a NumPy array, got a Python list: wrap it in np.array(...)"
    if not isinstance(got, np.ndarray):
        if _is_real_scalar(got) or _is_bool(got):
            return f"{at}expected an array of shape {expected.shape}, got a single number {float(got):.6g}"
        return f"{at}expected an array of shape {expected.shape}, got {describe(got)}"
    if got.shape != expected.shape:
        return f"{at}expected shape {expected.shape}, got {got.shape}{_shape_tip(got.shape, expected.shape)}"
    if got.dtype.kind not in "biuf":
        return f"{at}expected real numbers, got dtype {got.dtype}"
    if expected.dtype.kind in "iu" and got.dtype.kind not in "iu":
        return f"{at}expected integers, got dtype {got.dtype}: use .astype(int) or np.argmax"
    if expected.dtype.kind == "b" and got.dtype.kind != "b":
        return f"{at}expected booleans, got dtype {got.dtype}"
    if expected.dtype.kind == "f" and got.dtype.kind == "b":
        return f"{at}expected numbers, got booleans (dtype bool): use .astype(float)"
    values = got.astype(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        return f"{at}contains {values[where]} at index {where}"
    return None


def _compare_array(got, expected: np.ndarray, rtol, atol, at) -> str | None:
    problem = validate_array(got, expected, at)
    if problem:
        return problem
    values = got.astype(np.float64)
    reference = expected.astype(np.float64)
    # np.isclose's rule (NaN never close), without its overhead on small arrays
    with np.errstate(invalid="ignore", over="ignore"):
        close = (np.abs(values - reference) <= atol + rtol * np.abs(reference)) & np.isfinite(reference)
        close |= values == reference
    if close.all():
        return None
    where = tuple(int(i) for i in np.argwhere(~close)[0])
    diff = float(np.max(np.abs(values - expected)))
    return (f"{at}{int((~close).sum())} of {close.size} values differ; at index {where} expected "
            f"{expected[where]:.6g}, got {values[where]:.6g} (largest difference {diff:.3g})")
