"""The self-check: run a function on its assignment's public cases and say what is off.

``check("sigmoid", sigmoid)`` in a notebook prints one line per exercise and raises
``CheckFailed`` (shown without a traceback in Jupyter) when a case fails, so an nbgrader test
cell made of it fails too. It never imports TensorFlow: the answers were computed by Keras
ahead of time and ship with the course.
"""
from __future__ import annotations

import functools

from course import exercises
from course.calls import call_each
from course.fixtures import public_cases
from course.judge import ExerciseResult, judge_all


NOT_CHECKED = ("the grader loads it in a sandbox and measures its test accuracy; check it in your "
               "notebook with model.evaluate on the test digits")


class CheckFailed(AssertionError):
    """A self-check found a wrong answer; the message says which and why."""

    def _render_traceback_(self):  # IPython shows this instead of a traceback
        return [str(self)]


def run_check(name: str, fn) -> ExerciseResult:
    """Run ``fn`` on the public cases of the exercise called ``name``."""
    assignment, exercise = exercises.find(name)
    if exercise.artifact:
        return ExerciseResult(exercise, problem=f"{name} is a file, not a function: {NOT_CHECKED}")
    cases = public_cases(assignment.id)[name]
    if not callable(fn):
        result = ExerciseResult(exercise, problem=f"{name} should be a function, got {type(fn).__name__}")
        return result
    if exercise.adapter is not None:  # it returns an object (a Keras model): the adapter reads it
        fn = functools.partial(exercise.adapter, fn)
    return judge_all(exercise, cases, call_each(fn, [(c.args, c.kwargs) for c in cases]))


def line(result: ExerciseResult) -> str:
    mark = "✔" if result.passed else "✘"
    return f"{mark} {result.exercise.name}: {result.summary()}"


def check(name: str, fn) -> None:
    """Check your function ``fn`` against the public cases of exercise ``name``.

    Args:
        name: the exercise, e.g. ``"sigmoid"``.
        fn: your function.

    Raises:
        CheckFailed: some case fails; the message shows the first one and a hint.
    """
    result = run_check(name, fn)
    if not result.passed:
        raise CheckFailed(line(result))
    print(line(result))
