"""The data model of an assignment: its exercises, their cases and the hints for common mistakes.

Everything here is plain NumPy and shared by the student's self-check (public cases) and the
instructor's grader (public plus hidden cases); the Keras references live in ``grader.references``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class Case:
    """One call of a student's function and the answer Keras gave for it."""

    args: tuple
    """positional arguments, plain data (arrays, numbers, strings, lists of arrays)"""
    kwargs: dict = field(default_factory=dict)
    """keyword arguments"""
    label: str = ""
    """what this case probes, shown to the student (e.g. "z = -1e4 (saturating)")"""
    expected: Any = None
    """the reference answer, computed by Keras; never sent to the student's process"""
    hidden: bool = False
    """hidden cases are generated per grading run and never shown in full"""
    probe: Any = None
    """data for judging the answer (e.g. digits to run a neuron on); never passed to the function"""

    def call_text(self, name: str) -> str:
        parts = [_short(a) for a in self.args] + [f"{k}={_short(v)}" for k, v in self.kwargs.items()]
        return f"{name}({', '.join(parts)})"


def _short(v) -> str:
    shape = getattr(v, "shape", None)
    if shape is not None and shape != ():
        return f"<array {shape}>"
    if isinstance(v, (list, tuple)):
        return f"<{type(v).__name__} of {len(v)}>"
    return repr(v.item() if hasattr(v, "item") else v)


@dataclass(frozen=True)
class Hint:
    """A common mistake, recognised from the inputs and the wrong answer, exception or warning."""

    name: str
    """short id, e.g. "forgot_bias" (used in reports)"""
    message: str
    """what to tell the student"""
    matches: Callable[[Case, Any], bool] | None = None
    """``matches(case, got) -> bool``: does this wrong answer look like this mistake?"""
    raised: Callable[[Case, str], bool] | None = None
    """``raised(case, error) -> bool``: does this exception (``"ValueError: shapes ..."``), raised on
    this case, look like this mistake? Read with the case's input shapes (``course.exercises.shapes``)."""
    warned: Callable[[Case, list[str]], bool] | None = None
    """``warned(case, warnings) -> bool``: do these RuntimeWarnings (``"overflow encountered in exp"``)
    look like this mistake?"""


@dataclass(frozen=True)
class Scale:
    """Partial credit on a straight line: nothing at ``zero`` or below, full points from ``full`` up."""

    zero: float
    """the measured value (e.g. a test accuracy of 0.84) that earns nothing"""
    full: float
    """the value from which the case earns full points (e.g. 0.94)"""
    what: str = "test accuracy"
    """what is measured, for messages"""

    def fraction(self, value: float) -> float:
        """The fraction of the points earned, in [0, 1]."""
        return float(min(1.0, max(0.0, (value - self.zero) / (self.full - self.zero))))

    def rule(self) -> str:
        return (f"full points from {self.full:.0%}, nothing at {self.zero:.0%} or below, "
                f"a straight line in between")


@dataclass(frozen=True)
class Exercise:
    """A graded function of an assignment."""

    name: str
    """the function's name in the student's notebook"""
    points: float
    """what it is worth when every case passes"""
    calls: tuple[str, ...] = ()
    """graded functions it may call; it is graded with correct versions of them in place"""
    hints: tuple[Hint, ...] = ()
    """common mistakes, checked in order on a failing case"""
    rtol: float = 1e-5
    atol: float = 1e-6
    warnings_fail: bool = False
    """whether a RuntimeWarning (overflow, invalid value) during a case fails it"""
    timeout: float = 10.0
    """seconds for all its cases together, in the grader's sandbox"""
    warning_hint: str = ""
    """what to tell the student when a case raised a RuntimeWarning (with ``warnings_fail``)"""
    transform: Callable[[Case, Any], Any] | None = None
    """``transform(case, got)``: what is compared with ``case.expected`` instead of ``got``
    (e.g. a neuron's outputs on real digits); raises ``ValueError`` for a malformed answer"""
    needs: tuple[str, ...] = ()
    """heavy modules its sandboxed child may import, e.g. ``("keras",)``; the grader runs it in a
    sandbox that preloaded them, with more memory. Empty: NumPy only, TensorFlow is refused."""
    adapter: Callable | None = None
    """``adapter(fn, *args, **kwargs) -> plain data``: how a case runs the function when what it
    returns is not plain data (a Keras model). Runs wherever the function runs: in the sandboxed
    child when grading, in the student's process for the self-check. Never sees an answer."""
    artifact: str = ""
    """a file of the submission graded instead of a function (e.g. ``"digits.keras"``): the child
    runs only ``adapter(path, *args)`` on it, never the submission's code"""
    scale: Scale | None = None
    """partial credit: ``transform`` returns a measured value (an accuracy) that earns points on
    this scale instead of being compared with ``case.expected``; None: all or nothing"""


@dataclass(frozen=True)
class Assignment:
    id: str
    title: str
    exercises: tuple[Exercise, ...]

    def __getitem__(self, name: str) -> Exercise:
        for ex in self.exercises:
            if ex.name == name:
                return ex
        raise KeyError(f"{self.id} has no exercise {name!r}; it has {', '.join(self.names)}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(ex.name for ex in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(ex.points for ex in self.exercises)
