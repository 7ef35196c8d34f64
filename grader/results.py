"""A student's graded result, and its files: Gradescope ``results.json`` and the class CSV.

``results/<student>.json`` follows Gradescope's schema (``score``, ``tests[]`` with ``name``,
``score``, ``max_score``, ``output``, ``status``); what the grader needs to resume a run (the
submission's fingerprint, the seed) travels in ``extra_data``.
"""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from course.exercises.base import Assignment
from course.judge import ExerciseResult

GRADER_VERSION = 3
"""part of every results.json: a resumed run regrades what an older grader wrote (3: one child
per submission, each function on the server's go-ahead)"""


@dataclass
class StudentResult:
    student: str
    assignment: Assignment
    exercises: list[ExerciseResult] = field(default_factory=list)
    problem: str = ""
    """why the whole submission earned nothing (missing file, unreadable notebook), if so"""
    notes: list[str] = field(default_factory=list)
    """things worth knowing that cost no points by themselves (a cell that didn't parse)"""
    fingerprint: str = ""
    seed: int = 0
    seconds: float = 0.0
    function_seconds: dict[str, float] = field(default_factory=dict)
    """how long each function took in the sandbox (its stage, from the fork server)"""
    grader_fault: str = ""
    """why the grader itself failed this submission (``grader.sandbox.faults``): then it has no
    score at all, only this, and the next run grades it again"""

    @property
    def score(self) -> float:
        return sum(e.score for e in self.exercises)

    def scores(self) -> dict[str, float]:
        earned = {e.exercise.name: e.score for e in self.exercises}
        return {name: earned.get(name, 0.0) for name in self.assignment.names}

    def to_gradescope(self) -> dict:
        if self.grader_fault:
            return self._not_graded()
        by_name = {e.exercise.name: e for e in self.exercises}
        tests = []
        for ex in self.assignment.exercises:
            r = by_name.get(ex.name)
            output = r.summary() if r else self.problem or "not graded"
            passed = bool(r and r.passed)
            test = {"name": ex.name, "score": r.score if r else 0.0, "max_score": ex.points,
                    "status": "passed" if passed else "failed", "output": output,
                    "visibility": "visible"}
            extra = {}
            if r and r.hint:  # the class report counts the common mistakes
                extra["hint"] = r.hint.name
            if ex.name in self.function_seconds:
                extra["seconds"] = round(self.function_seconds[ex.name], 4)
            if extra:
                test["extra_data"] = extra
            tests.append(test)
        overall = self.problem or f"{self.score:g} / {self.assignment.max_score:g}"
        if self.notes:
            overall += "\nNotes:\n" + "\n".join(f"- {n}" for n in self.notes)
        return {
            "score": self.score,
            "execution_time": round(self.seconds, 3),
            "output": overall,
            "output_format": "text",  # the default renders HTML, and outputs quote students' code
            "tests": tests,
            "extra_data": {"student": self.student, "assignment": self.assignment.id,
                           "max_score": self.assignment.max_score, "fingerprint": self.fingerprint,
                           "seed": self.seed, "grader_version": GRADER_VERSION,
                           "problem": self.problem, "notes": self.notes},
        }

    def _not_graded(self) -> dict:
        """results.json for a submission the grader failed: no score of the student's, the reason."""
        why = f"Not graded, through no fault of yours: {self.grader_fault}"
        return {
            "score": 0.0,  # Gradescope's schema needs a number; extra_data.grader_fault says it is none
            "execution_time": round(self.seconds, 3),
            "output": why,
            "output_format": "text",
            "tests": [{"name": ex.name, "score": 0.0, "max_score": ex.points, "status": "failed",
                       "output": why, "visibility": "visible"} for ex in self.assignment.exercises],
            "extra_data": {"student": self.student, "assignment": self.assignment.id,
                           "max_score": self.assignment.max_score, "fingerprint": "", "seed": self.seed,
                           "grader_version": GRADER_VERSION, "problem": why, "notes": [],
                           "grader_fault": self.grader_fault},
        }


def grader_fault(saved: dict) -> str:
    """Why a saved results.json holds no grade (a grader fault), or ""."""
    return str(((saved or {}).get("extra_data") or {}).get("grader_fault") or "")


def atomic_write(path: Path, data: str | bytes, *, durable: bool = False) -> None:
    """Write a file so that readers (and a resumed run) never see half of it.

    The data goes to a temporary file renamed over ``path``: a process killed at any moment
    (even ``kill -9``) leaves the old file or the new one. ``durable`` also survives a power
    cut (``fsync``, about a millisecond a file here); without it, a file torn by an OS crash
    reads as invalid JSON, which a resumed run grades again.
    """
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def clean_partial_writes(out: Path) -> None:
    """Create ``out``'s folders, and remove temporary files a killed run left in them."""
    for sub in ("results", "feedback"):
        folder = out / sub
        folder.mkdir(parents=True, exist_ok=True)
        for leftover in folder.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)


def read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def is_current(saved: dict | None, *, fingerprint: str, seed: int) -> bool:
    """Whether a saved results.json still holds for this submission and seed."""
    extra = (saved or {}).get("extra_data") or {}
    return (extra.get("fingerprint") == fingerprint and extra.get("seed") == seed
            and extra.get("grader_version") == GRADER_VERSION and not extra.get("grader_fault"))


def readable(name: str) -> str:
    """``name`` as valid UTF-8 text: bytes of a folder name that are not UTF-8 become "�"."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def csv_row(saved: dict, assignment: Assignment) -> dict:
    """A student's grades.csv row; empty scores (not zeros) for a submission the grader failed."""
    if grader_fault(saved):
        return {"student": readable(saved["extra_data"]["student"]), "score": "",
                "max_score": f"{assignment.max_score:g}", **{name: "" for name in assignment.names}}
    scores = {t.get("name"): t.get("score", 0) for t in saved.get("tests", [])}
    row = {"student": readable(saved["extra_data"]["student"]), "score": f"{saved.get('score', 0):g}",
           "max_score": f"{assignment.max_score:g}"}
    row.update({name: f"{scores.get(name, 0):g}" for name in assignment.names})
    return row


def write_csv(path: Path, rows: list[dict], assignment: Assignment) -> None:
    columns = ["student", "score", "max_score", *assignment.names]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(path, buf.getvalue(), durable=True)
