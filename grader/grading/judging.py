"""Judging a fork server's reply into a student's finished result, in a trusted process.

The sandboxed child only ever sees case inputs; its returned values come back as plain data and
are compared here with the plan's Keras answers (``course.judge``). ``finish`` then renders
everything the ``grader grade`` process will write for that student (results JSON, grades.csv
row, feedback page with its pictures), so the grading worker hands back plain data.
"""
from __future__ import annotations

from dataclasses import dataclass

from course.calls import Outcome
from course.exercises.base import Case, Exercise
from course.judge import ExerciseResult, judge_all
from grader import feedback
from grader.plan import Plan
from grader.results import StudentResult, csv_row
from grader.submissions import Submission


@dataclass
class Finished:
    """A student's graded result as the files that hold it: plain data, cheap to send."""

    student: str
    results: dict
    """``results/<student>.json``'s content (Gradescope's schema)"""
    feedback: str
    """``feedback/<student>.html``, pictures embedded"""
    row: dict
    """the student's ``grades.csv`` row"""
    instructor: str | None = None
    """``instructor/<student>.html``, the instructor's copy (every hidden case in full), if written"""
    cpu: float = 0.0
    """the CPU seconds the submission's sandboxed processes took"""

    def to_plain(self) -> dict:
        return {"student": self.student, "results": self.results, "feedback": self.feedback, "row": self.row,
                "instructor": self.instructor, "cpu": self.cpu}

    @classmethod
    def from_plain(cls, d: dict) -> "Finished":
        return cls(d["student"], d["results"], d["feedback"], d["row"], d.get("instructor"),
                   float(d.get("cpu") or 0.0))


def finish(result: StudentResult, *, cpu: float = 0.0, pictures: bool = True,
           hidden_feedback: str = "summary") -> Finished:
    """Render ``result``'s files (options as ``grader.grade.grade``'s): results JSON, grades.csv
    row, the student's page and, when that one keeps the hidden cases hidden, the instructor's copy."""
    payload = result.to_gradescope(hidden_feedback=hidden_feedback)
    instructor = (feedback.render(result, pictures=pictures, instructor=True) if hidden_feedback == "summary"
                  else None)
    page = feedback.render(result, pictures=pictures, hidden_feedback=hidden_feedback)
    return Finished(result.student, payload, page, csv_row(payload, result.assignment), instructor, cpu)


def merge_replies(replies: list[dict]) -> dict:
    """One reply from the decoded replies of a submission's groups (A4 has three; others one)."""
    if len(replies) == 1:
        return replies[0]
    failed = next((r for r in replies if r.get("status") != "ok"), None)
    if failed is not None:
        return failed
    loads = [r["load"] for r in replies if r["load"]["status"] == "ok" and isinstance(r["load"].get("data"), dict)]
    fatal = next((load for load in loads if isinstance(load["data"].get("fatal"), str)), None)
    notes = [n for load in loads if isinstance(load["data"].get("notes"), list) for n in load["data"]["notes"]]
    return {"status": "ok", "detail": "",
            "load": fatal or {"status": "ok", "detail": "", "data": {"notes": notes, "fatal": None}},
            "functions": [f for r in replies for f in r["functions"]],
            "output": "\n".join(r["output"] for r in replies if r.get("output")),
            **{key: sum(float(r.get(key) or 0.0) for r in replies) for key in ("seconds", "cpu", "children")}}


def judge_reply(sub: Submission, plan: Plan, reply: dict, *, fingerprint: str) -> StudentResult:
    """A student's result from the fork servers' decoded reply (``client.decode_reply``;
    ``merge_replies`` for several groups)."""
    result = StudentResult(sub.student, plan.assignment, seed=plan.seed, fingerprint=fingerprint,
                           seconds=float(reply.get("seconds") or 0.0))
    if reply.get("status") != "ok":
        result.problem = f"the grader's sandbox failed: {reply.get('detail')}"
        result.fingerprint = ""  # a grader fault: never reuse this result
        return result
    load = reply["load"]
    data = load.get("data")
    if load["status"] == "ok" and isinstance(data, dict):
        if isinstance(data.get("fatal"), str):
            result.problem = data["fatal"]
            return result
        notes = data.get("notes")
        result.notes = list(dict.fromkeys(n for n in notes if isinstance(n, str))) if isinstance(notes, list) else []
    stages = {f["name"]: f for f in reply["functions"]}
    result.function_seconds = {name: float(f.get("seconds") or 0.0) for name, f in stages.items()}
    for ex in plan.assignment.exercises:
        stage = stages.get(ex.name, {"status": "not_run", "detail": "was not graded"})
        result.exercises.append(_judge_stage(ex, plan.cases[ex.name], stage))
    return result


def _judge_stage(ex: Exercise, cases: list[Case], stage: dict) -> ExerciseResult:
    if stage["status"] != "ok":
        return ExerciseResult(ex, problem=f"{ex.name}: {stage.get('detail') or stage['status']}")
    data = stage.get("data")
    if not isinstance(data, dict):
        return ExerciseResult(ex, problem=f"{ex.name}: the sandbox returned no result")
    if isinstance(data.get("missing"), str):
        return ExerciseResult(ex, problem=data["missing"])
    raw = data.get("outcomes")
    outcomes = [Outcome.from_plain(o) for o in raw] if isinstance(raw, list) else []
    return judge_all(ex, cases, outcomes[: len(cases)])


def without_file(sub: Submission, plan: Plan, fingerprint: str) -> StudentResult:
    """The result of a student folder with nothing to grade (``Submission.problem`` says why)."""
    return StudentResult(sub.student, plan.assignment, problem=sub.problem, seed=plan.seed, fingerprint=fingerprint)
