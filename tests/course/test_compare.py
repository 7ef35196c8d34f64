"""Tests for ``course.compare``: the messages a student reads when an answer is off."""
import numpy as np
import pytest

from course.codec import Unsupported
from course.compare import compare


@pytest.mark.parametrize("got, expected", [
    (0.5, 0.5), (np.float64(0.5), 0.5), (np.array(0.5), 0.5), (True, True), (np.bool_(False), False),
    (13002, 13002), (np.int64(7), 7), (np.arange(3.0), np.arange(3.0)), ([np.ones(2)], [np.ones(2)]),
])
def test_equal_values_pass(got, expected):
    assert compare(got, expected) is None


@pytest.mark.parametrize("got, expected, message", [
    (None, 1.0, "forget the `return`"),
    (np.ones((16, 1)), np.ones(16), r"expected shape \(16,\), got \(16, 1\): did you forget to flatten"),
    (np.ones((3, 2)), np.ones((2, 3)), "transposed"),
    ([1.0, 2.0], np.ones(2), "Python list"),
    (np.array([1.0]), 1.0, r"single number.*\.item\(\)"),
    (1, True, "True or False"),
    (13002.0, 13002, r"int\(\.\.\.\)"),
    (np.array([1.0, np.nan]), np.ones(2), "nan"),
    (np.ones(2, dtype=complex), np.ones(2), "real numbers"),
    (np.ones(2, dtype=bool), np.ones(2), r"got booleans.*astype\(float\)"),
    (np.array([0.0, 1.0]), np.array([0, 1]), "integers"),
    (Unsupported("MaskedArray"), np.ones(2), "MaskedArray"),
    (np.array([1.0, 2.0]), np.array([1.0, 2.5]), r"1 of 2 values differ; at index \(1,\) expected 2.5, got 2"),
    (0.4, 0.5, "expected 0.5, got 0.4"),
])
def test_mismatches_explain_themselves(got, expected, message):
    problem = compare(got, expected)
    assert problem is not None
    assert __import__("re").search(message, problem), problem


def test_tolerance_accepts_float32_rounding():
    expected = np.linspace(0, 1, 50)
    assert compare(expected.astype(np.float32), expected) is None
