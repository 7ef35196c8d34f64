"""Tests for ``grader.authoring.solutions``: the correct callees injected for no double penalty."""
import numpy as np

from grader.authoring import solutions
from grader.sandbox.runner import inject


def test_a_callee_carries_the_helpers_it_needs_transitively():
    """``predict`` -> ``feedforward`` -> ``layer_forward`` -> ``sigmoid``, ``relu`` (given cells)."""
    source = solutions.callee_sources("a3_network", ("feedforward",))["feedforward"]
    for helper in ("def sigmoid(", "def relu(", "def layer_forward(", "def feedforward("):
        assert helper in source
    assert source.index("def layer_forward(") < source.index("def feedforward(")


def test_only_the_named_callees_replace_the_students_functions():
    def broken_layer_forward(*args, **kwargs):
        raise AssertionError("the student's helper must not be called by the injected callee")

    namespace = {"layer_forward": broken_layer_forward}
    inject(namespace, solutions.callee_sources("a3_network", ("feedforward",)))
    assert namespace["layer_forward"] is broken_layer_forward  # the student's own stays theirs
    W, b = np.eye(3), np.zeros(3)
    np.testing.assert_allclose(namespace["feedforward"](np.zeros(3), [W], [b]), np.full(3, 0.5))
