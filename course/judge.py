"""Decide whether one outcome passes one case, and name the mistake when it does not.

Used identically by the self-check (public cases) and the grader (public and hidden cases).
"""
from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass
class ExerciseResult:
    exercise: Exercise
    cases: list[CaseResult] = field(default_factory=list)
    problem: str = ""
    """a reason that applies to the whole exercise (function missing, timed out, crashed)"""

    @property
    def passed(self) -> bool:
        return not self.problem and bool(self.cases) and all(c.passed for c in self.cases)

    @property
    def score(self) -> float:
        return self.exercise.points if self.passed else 0.0

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
        if self.passed:
            return f"all {n_pass} cases pass"
        bad = self.first_failure
        where = f"hidden case ({bad.case.label})" if bad.case.hidden else bad.case.call_text(self.exercise.name)
        if bad.case.label and not bad.case.hidden:
            where += f" [{bad.case.label}]"
        text = f"{n_pass} of {len(self.cases)} cases pass. {where}: {bad.message}."
        if self.hint:
            text += f" Hint: {self.hint.message}"
        return text


def judge(exercise: Exercise, case: Case, outcome: Outcome) -> CaseResult:
    """Judge one call's outcome against the case's reference answer."""
    if outcome.error is not None:
        if outcome.error.startswith("NotImplementedError"):
            return CaseResult(case, False, "not implemented yet: it still raises NotImplementedError")
        return CaseResult(case, False, f"raised {outcome.error}")
    if exercise.warnings_fail and outcome.warnings:
        return CaseResult(case, False, f"warning: {outcome.warnings[0]}. {exercise.warning_hint}".strip(),
                          got=outcome.value)
    got = outcome.value
    if exercise.transform is not None:
        try:
            got = exercise.transform(case, got)
        except Exception as e:
            return CaseResult(case, False, str(e), got=outcome.value)
    problem = compare(got, case.expected, rtol=exercise.rtol, atol=exercise.atol)
    if problem is None:
        return CaseResult(case, True, got=outcome.value)
    return CaseResult(case, False, problem, _recognise(exercise, case, outcome.value), got=outcome.value)


def _recognise(exercise: Exercise, case: Case, got) -> Hint | None:
    for hint in exercise.hints:
        try:
            if hint.matches(case, got):
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
