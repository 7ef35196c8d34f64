"""Judging a fork server's reply into a student's finished result, in a trusted process.

The sandboxed child only ever sees case inputs; its returned values come back as plain data and
are compared here with the plan's Keras answers (``course.judge``). ``finish`` then renders
everything the ``grader grade`` process will write for that student (results JSON, grades.csv
row, feedback page with its pictures), so the grading worker hands back plain data.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from course.calls import Outcome
from course.exercises.base import Case, Exercise
from course.judge import ExerciseResult, judge_all
from grader.grading.plan import Plan
from grader.grading.results import StudentResult, atomic_write, csv_row, file_name
from grader.grading.submissions import Submission
from grader.reports import feedback
from grader.sandbox import faults
from grader.sandbox.frames import pack_envelope, unpack_envelope


@dataclass
class Finished:
    """A student's graded result as the files that hold it: plain data, cheap to send."""

    student: str
    results: dict
    """``results/<student>.json``'s content (Gradescope's schema)"""
    results_text: str
    """that file's text, as it is written (made here, in a worker, not in the one ``grader grade`` process)"""
    feedback: str | bytes
    """``feedback/<student>.html``, pictures embedded (its UTF-8 bytes when it came over a pipe:
    ``unpack`` never decodes a page only for ``grader grade`` to encode it again to write it)"""
    row: dict
    """the student's ``grades.csv`` row"""
    instructor: str | bytes | None = None
    """``instructor/<student>.html``, the instructor's copy (every hidden case in full), if written
    (bytes as ``feedback``)"""
    cpu: float = 0.0
    """the CPU seconds the submission's sandboxed processes took"""
    written: bool = False
    """whether the files are written already (``write``, by a local grading worker or by a Dask
    worker that shares the ``grader grade`` process's file system), so that only the results
    and the row came back, the pages left out"""

    def write(self, out: Path) -> None:
        """Write the files into ``out``, each atomically: the pages first, then
        ``results/<student>.json``, whose presence means "graded" to a resumed run."""
        atomic_write(out / "feedback" / file_name(self.student, ".html"), self.feedback)
        if self.instructor is not None:
            atomic_write(out / "instructor" / file_name(self.student, ".html"), self.instructor)
        atomic_write(out / "results" / file_name(self.student, ".json"), self.results_text)
        self.written = True

    def write_if_possible(self, out: Path) -> None:
        """``write``, by a worker; where it cannot (a full disk, say) the files stay unwritten, so
        they go back whole and ``grader grade``, writing them, stops with the reason."""
        try:
            self.write(out)
        except OSError:
            pass

    def to_plain(self) -> dict:
        """Plain data for a Dask task's result (``from_plain``); once ``written``, without the pages."""
        pages = {} if self.written else {"feedback": self.feedback, "instructor": self.instructor}
        return {"student": self.student, "results_text": self.results_text, "row": self.row, "cpu": self.cpu,
                "written": self.written, **pages}

    @classmethod
    def from_plain(cls, d: dict) -> "Finished":
        return cls(d["student"], json.loads(d["results_text"]), d["results_text"], d.get("feedback") or "", d["row"],
                   d.get("instructor"), float(d.get("cpu") or 0.0), bool(d.get("written")))

    def pack(self, extra: dict | None = None) -> bytes:
        """One frame for a pipe: a small JSON header (with ``extra``) and the files' bytes as they
        are, so the pages are never escaped into JSON and back (``unpack``); once ``written``,
        the results only."""
        meta = {"student": self.student, "row": self.row, "cpu": self.cpu, "instructor": self.instructor is not None,
                "written": self.written, **(extra or {})}
        pages = [self.results_text] if self.written else [self.results_text, self.feedback, self.instructor or ""]
        return pack_envelope(meta, [page if isinstance(page, bytes) else page.encode("utf-8", "surrogateescape")
                                    for page in pages])

    @classmethod
    def unpack(cls, frame: bytes) -> tuple["Finished", dict]:
        """The ``Finished`` in a ``pack`` frame, and the header (for ``extra``)."""
        meta, (results, *pages) = unpack_envelope(frame)
        text = str(results, "utf-8", "surrogateescape")
        page = bytes(pages[0]) if pages else b""  # none once ``written``
        instructor = bytes(pages[1]) if pages and meta["instructor"] else None
        done = cls(meta["student"], json.loads(text), text, page, meta["row"], instructor, float(meta["cpu"]),
                   bool(meta.get("written")))
        return done, meta


def finish(result: StudentResult, *, cpu: float = 0.0, pictures: bool = True,
           hidden_feedback: str = "summary") -> Finished:
    """Render ``result``'s files (options as ``grader.grading.grade.grade``'s): results JSON, grades.csv
    row, the student's page and, when that one keeps the hidden cases hidden, the instructor's copy."""
    payload = result.to_gradescope(hidden_feedback=hidden_feedback)
    instructor = (feedback.render(result, pictures=pictures, instructor=True) if hidden_feedback == "summary"
                  else None)
    page = feedback.render(result, pictures=pictures, hidden_feedback=hidden_feedback)
    # one line: ``json``'s C encoder (an indented file takes its pure-Python one, ten times slower)
    return Finished(result.student, payload, json.dumps(payload), page, csv_row(payload, result.assignment),
                    instructor, cpu)


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


def judge_reply(sub: Submission, plan: Plan, reply: dict, *, fingerprint: str,
                checker: faults.Checker | None = None) -> StudentResult:
    """A student's result from the fork servers' decoded reply (``client.decode_reply``;
    ``merge_replies`` for several groups).

    With ``checker``, a reply showing that the sandbox could not import what the grader lets
    every submission import (checked again without the submission) becomes a grader fault: no
    score, the reason, graded again by the next run.
    """
    result = StudentResult(sub.student, plan.assignment, seed=plan.seed, fingerprint=fingerprint,
                           seconds=float(reply.get("seconds") or 0.0))
    if sub.path is not None and sub.path.stem != plan.assignment.id:  # found by ``submissions.named_like``
        result.notes.append(f"graded {sub.path.name}, the one file named like {plan.assignment.id}: name it "
                            f"{plan.assignment.id}{sub.path.suffix.lower()} next time")
    if checker is not None and reply.get("status") == "ok":
        needs_of = {f["name"]: tuple(f.get("needs") or ()) for f in plan.functions}
        # the loads' notes are merged: an import that fails while loading may be any server's
        needs_of[""] = tuple(sorted({n for needs in needs_of.values() for n in needs}))
        result.grader_fault = checker.fault(reply, needs_of)
        if result.grader_fault:
            result.fingerprint = ""
            return result
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
        result.notes += list(dict.fromkeys(n for n in notes if isinstance(n, str))) if isinstance(notes, list) else []
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
    """The result of a student folder with nothing to grade (``Submission.problem`` says why), or
    that the grader could not read (``Submission.fault``: a grader fault, never reused)."""
    return StudentResult(sub.student, plan.assignment, problem=sub.problem, seed=plan.seed,
                         fingerprint="" if sub.fault else fingerprint, grader_fault=sub.fault)
