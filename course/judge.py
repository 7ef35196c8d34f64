"""Decide whether one outcome passes one case, and name the mistake when it does not.

Used identically by the self-check (public cases) and the grader (public and hidden cases).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from course.calls import Outcome
from course.compare import compare
from course.exercises.base import Case, Exercise, Hint


@dataclass
class CaseResult:
    case: Case
    passed: bool
    message: str = ""
    """why it failed, e.g. "expected 0.731, got 0.5" """
    hint: Hint | None = None
    """the common mistake this answer looks like, if we recognised one"""
    got: Any = None
    """the value the function returned (decoded plain data), kept for feedback pictures"""
    credit: float | None = None
    """for an exercise with partial credit (``Exercise.scale``), the fraction of its points earned"""


_PASSED = attrgetter("passed")


@dataclass
class ExerciseResult:
    exercise: Exercise
    cases: list[CaseResult] = field(default_factory=list)
    problem: str = ""
    """a reason that applies to the whole exercise (function missing, timed out, crashed)"""

    @property
    def passed(self) -> bool:
        # ``map`` rather than a generator: a feedback page asks this a few hundred times
        return not self.problem and bool(self.cases) and all(map(_PASSED, self.cases))

    @property
    def score(self) -> float:
        if self.passed:
            return self.exercise.points
        credits = [c.credit for c in self.cases]
        if self.problem or not credits or any(c is None for c in credits):
            return 0.0
        return round(self.exercise.points * min(credits), 2)  # partial credit: the weakest case counts

    @property
    def first_failure(self) -> CaseResult | None:
        return next((c for c in self.cases if not c.passed), None)

    @property
    def hint(self) -> Hint | None:
        return next((c.hint for c in self.cases if c.hint), None)

    def summary(self) -> str:
        """One paragraph for the student: what passed, or the first thing that went wrong."""
        if self.problem:
            return self.problem
        n_pass = sum(c.passed for c in self.cases)
        if self.exercise.scale is not None and self.cases:  # a measurement: say what it was
            return " ".join(c.message for c in self.cases)
        if self.passed:
            return f"all {n_pass} cases pass"
        bad = self.first_failure
        if bad.case.hidden:
            where = f"hidden case ({bad.case.label})"
        elif self.exercise.adapter is not None:  # the case's arguments are the adapter's, not the function's
            where = f"{self.exercise.name} ({bad.case.label})"
        else:
            where = bad.case.call_text(self.exercise.name) + (f" [{bad.case.label}]" if bad.case.label else "")
        text = f"{n_pass} of {len(self.cases)} cases pass. {where}: {bad.message}."
        if self.hint:
            text += f" Hint: {self.hint.message}"
        return text


def judge(exercise: Exercise, case: Case, outcome: Outcome) -> CaseResult:
    """Judge one call's outcome against the case's reference answer."""
    if outcome.error is not None:
        if outcome.error.startswith("NotImplementedError"):
            return CaseResult(case, False, "not implemented yet: it still raises NotImplementedError")
        return CaseResult(case, False, f"raised {outcome.error}", _recognise(exercise, case, outcome.error, "raised"))
    if exercise.warnings_fail and outcome.warnings:
        hint = _recognise(exercise, case, outcome.warnings, "warned")
        said = "" if hint or not exercise.warning_hint else f". {exercise.warning_hint}"
        return CaseResult(case, False, f"warning: {outcome.warnings[0]}{said}", hint, got=outcome.value)
    got = outcome.value
    if exercise.transform is not None:
        try:
            got = exercise.transform(case, got)
        except Exception as e:  # a malformed or failing answer: it may still be a mistake we know
            return CaseResult(case, False, str(e), _recognise(exercise, case, outcome.value), got=outcome.value)
    if exercise.scale is not None:
        return _on_scale(exercise, case, got)
    problem = compare(got, case.expected, rtol=exercise.rtol, atol=exercise.atol)
    if problem is None:
        return CaseResult(case, True, got=outcome.value)
    return CaseResult(case, False, problem, _recognise(exercise, case, outcome.value), got=outcome.value)


def _on_scale(exercise: Exercise, case: Case, value) -> CaseResult:
    """Partial credit for a measured value (the transform's result, e.g. a test accuracy)."""
    scale = exercise.scale
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value == value:
        return CaseResult(case, False, f"could not measure the {scale.what} (got {value!r})")
    fraction = scale.fraction(float(value))
    earned = round(exercise.points * fraction, 2)
    message = (f"{scale.what} {value:.2%}: {earned:g} of {exercise.points:g} points "
               f"({scale.rule()}).")
    return CaseResult(case, fraction >= 1.0, message, credit=fraction)


def _recognise(exercise: Exercise, case: Case, got, how: str = "matches") -> Hint | None:
    """The first of the exercise's hints whose ``how`` matcher (``matches`` a wrong value, ``raised``
    an exception's text, ``warned`` the warnings) recognises what this case produced."""
    for hint in exercise.hints:
        matcher = getattr(hint, how)
        try:
            if matcher is not None and matcher(case, got):
                return hint
        except Exception:
            continue
    return None


def judge_all(exercise: Exercise, cases: list[Case], outcomes: list[Outcome]) -> ExerciseResult:
    result = ExerciseResult(exercise)
    for case, outcome in zip(cases, outcomes):
        result.cases.append(judge(exercise, case, outcome))
    if len(outcomes) < len(cases):
        result.problem = result.problem or "did not finish all its cases"
    return result
