"""Tests for ``course.calls``: each case is called on its own copies of the inputs and gets its
own warnings, though one warnings catcher serves them all (``call_each``)."""
from __future__ import annotations

import numpy as np

from course.calls import call, call_each


def test_each_case_gets_only_the_warnings_raised_during_its_own_call():
    def exp(z):
        return np.exp(z)

    big, small = call_each(exp, [((np.array([1000.0]),), {}), ((np.array([1.0]),), {})])
    assert big.warnings == ["overflow encountered in exp"]
    assert small.warnings == [] and small.error is None


def test_a_function_that_changes_its_input_changes_no_later_case():
    shared = np.zeros(3)

    def bump(a):
        a += 1
        return a.copy()

    first, second = call_each(bump, [((shared,), {}), ((shared,), {})])
    assert first.value.tolist() == second.value.tolist() == [1.0, 1.0, 1.0]
    assert shared.tolist() == [0.0, 0.0, 0.0]


def test_an_input_given_twice_is_copied_once_as_deepcopy_would():
    a = np.zeros(2)

    def same(x, y):
        x[0] = 5.0
        return float(y[0])

    assert call(same, (a, a), {}).value == 5.0
    assert a[0] == 0.0


def test_errors_and_exits_cost_their_case_only():
    def fail(n):
        if n == 1:
            raise SystemExit("bye")
        return n

    outcomes = call_each(fail, [((0,), {}), ((1,), {}), ((2,), {})])
    assert [o.value for o in outcomes] == [0, None, 2]
    assert outcomes[1].error == "SystemExit: bye"
