"""The self-check: run a function on its assignment's public cases and say what is off.

``check("sigmoid", sigmoid)`` in a notebook prints one line per exercise and raises
``CheckFailed`` (shown without a traceback in Jupyter) when a case fails, so an nbgrader test
cell made of it fails too. It never imports TensorFlow: the answers were computed by Keras
ahead of time and ship with the course.
"""
from __future__ import annotations

import functools
import signal
import threading
from contextlib import contextmanager

from course import exercises
from course.calls import Outcome, call_each
from course.fixtures import public_cases
from course.judge import ExerciseResult, judge_all


NOT_CHECKED = ("the grader loads it in a sandbox and measures its test accuracy; check it in your "
               "notebook with model.evaluate on the test digits")


class CheckFailed(AssertionError):
    """A self-check found a wrong answer; the message says which and why."""

    def _render_traceback_(self):  # IPython shows this instead of a traceback
        return [str(self)]


PATIENCE = 3
"""how many times the grader's time limit the self-check waits before it stops a function: a
student's laptop may be slower than the grading machine, an endless loop never ends anyway"""


class TimeLimit(BaseException):
    """Raised inside a function the self-check has waited long enough for (not an ``Exception``,
    so the function's own ``except Exception`` does not swallow it)."""


def run_check(name: str, fn, *, timeout: float | None = None) -> ExerciseResult:
    """Run ``fn`` on the public cases of the exercise called ``name``.

    A function still running after ``PATIENCE`` times its time limit in the grader (``timeout``,
    by default the exercise's) is stopped, with a reason that says so, where the limit can be
    enforced: in the main thread, where a notebook's cells and ``course check`` run.
    """
    assignment, exercise = exercises.find(name)
    if exercise.artifact:
        return ExerciseResult(exercise, problem=f"{name} is a file, not a function: {NOT_CHECKED}")
    cases = public_cases(assignment.id)[name]
    if not callable(fn):
        result = ExerciseResult(exercise, problem=f"{name} should be a function, got {type(fn).__name__}")
        return result
    if exercise.adapter is not None:  # it returns an object (a Keras model): the adapter reads it
        fn = functools.partial(exercise.adapter, fn)
    limit = exercise.timeout if timeout is None else timeout
    outcomes: list[Outcome] = []
    try:
        with _time_limit(PATIENCE * limit) as stopped:
            for c in cases:  # one at a time: a case the limit stopped ends the check
                outcomes += call_each(fn, [(c.args, c.kwargs)])
                if stopped():
                    raise TimeLimit
    except TimeLimit:  # in the function, or between two cases
        return ExerciseResult(exercise, problem=(
            f"{name} was still running after {PATIENCE * limit:g} s, and the grader stops it after {limit:g} s "
            "(no points): an endless loop, or a Python loop where NumPy would do?"))
    return judge_all(exercise, cases, outcomes)


@contextmanager
def _time_limit(seconds: float):
    """Raise ``TimeLimit`` in this thread after ``seconds`` (and again every tenth of a second, until
    it leaves the function); yields a function that says whether it did. Only in the main thread
    of a platform with ``setitimer``; elsewhere nothing is stopped."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield lambda: False
        return
    fired, armed = False, True

    def stop(signum, frame):
        nonlocal fired
        if armed:  # not once the check is leaving: the timer may fire before it is cancelled
            fired = True
            raise TimeLimit(f"stopped after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.1)
    try:
        yield lambda: fired
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


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
