"""Are the shipped public fixtures exactly what the Keras references compute today?"""
import numpy as np
import pytest

from course import codec, exercises
from course.fixtures import fixture_path
from course.keraslike import KerasLikeModel
from grader.authoring import fixtures


def same(a, b) -> bool:
    if isinstance(a, KerasLikeModel):
        return type(b) is KerasLikeModel and same(a.to_plain(), b.to_plain())
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (np.ndarray, np.generic)):
        return np.asarray(a).shape == np.asarray(b).shape and np.allclose(a, b, rtol=1e-12, atol=0)
    return a == b


@pytest.mark.parametrize("assignment_id", exercises.IDS)
def test_regenerated_fixtures_equal_the_shipped_ones(assignment_id):
    fresh = codec.decode(fixtures.build(assignment_id))
    shipped = codec.decode(fixture_path(assignment_id).read_bytes())
    assert same(fresh, shipped), f"run `grader fixtures` and commit {fixture_path(assignment_id)}"
