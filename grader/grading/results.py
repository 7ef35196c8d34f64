"""A student's graded result, and its files: Gradescope ``results.json`` and the class CSV.

``results/<student>.json`` follows Gradescope's schema (``score``, ``tests[]`` with ``name``,
``score``, ``max_score``, ``output``, ``status``); what the grader needs to resume a run (the
submission's fingerprint, the seed) travels in ``extra_data``.

Hidden cases stay hidden (``hidden_feedback="summary"``, the default): a function's visible
output gives its public cases in full but, of its hidden cases, only how many passed and the
named hint, so a student who resubmits cannot read the hidden inputs or Keras's answers. Their
details go into one more test per function, ``"<function>: hidden cases"``, with no points and
Gradescope visibility ``after_due_date`` (worth 0 of 0 points: the function's test carries
them). ``"full"`` shows everything to the student at once.
"""
from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from course.exercises.base import Assignment
from course.judge import ExerciseResult

HIDDEN_FEEDBACK = ("summary", "full")
"""what a student is shown of the hidden cases: how many passed and the hint, or everything"""

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

    def to_gradescope(self, *, hidden_feedback: str = "summary") -> dict:
        """Gradescope's ``results.json``; ``hidden_feedback``: see the module docstring."""
        check_hidden_feedback(hidden_feedback)
        if self.grader_fault:
            return self._not_graded()
        by_name = {e.exercise.name: e for e in self.exercises}
        tests, details = [], []
        for ex in self.assignment.exercises:
            r = by_name.get(ex.name)
            output = student_summary(r, hidden_feedback=hidden_feedback) if r else self.problem or "not graded"
            passed = bool(r and r.passed)
            test = {"name": ex.name, "score": r.score if r else 0.0, "max_score": ex.points,
                    "status": "passed" if passed else "failed", "output": output,
                    "visibility": "visible"}
            hidden = [c for c in r.cases if c.case.hidden] if r else []
            if hidden_feedback == "summary" and hidden:
                details.append({"name": f"{ex.name}: hidden cases", "score": 0.0, "max_score": 0.0,
                                "status": "passed" if all(
                    c.passed for c in hidden) else "failed", "output": hidden_details(r),
                    "visibility": "after_due_date"})
            extra = {}
            if r and r.hint:  # the class report counts the common mistakes
                extra["hint"] = r.hint.name
            if ex.name in self.function_seconds:
                extra["seconds"] = round(self.function_seconds[ex.name], 4)
            if extra:
                test["extra_data"] = extra
            tests.append(test)
        tests += details  # after the graded tests, which keep their places (and names) in the list
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
                           "hidden_feedback": hidden_feedback,
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


def check_hidden_feedback(value: str) -> str:
    """``value`` if it is one of ``HIDDEN_FEEDBACK``.

    Raises:
        ValueError: it is not; the message names the choices.
    """
    if value not in HIDDEN_FEEDBACK:
        raise ValueError(f"hidden_feedback should be one of {', '.join(HIDDEN_FEEDBACK)}; received {value!r}")
    return value


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def student_summary(r: ExerciseResult, *, hidden_feedback: str = "summary") -> str:
    """What the student reads about one function: ``r.summary()``, or with ``"summary"`` its public
    cases in full but of its hidden ones only how many passed and the named hint."""
    hidden = [c for c in r.cases if c.case.hidden]
    if check_hidden_feedback(hidden_feedback) == "full" or r.problem or r.passed or not hidden:
        return r.summary()
    public = ExerciseResult(r.exercise, [c for c in r.cases if not c.case.hidden])
    counted = f"{sum(c.passed for c in hidden)} of {len(hidden)} hidden cases pass"
    if public.cases and not public.passed:
        text = f"{public.summary().split(' Hint: ')[0]} {_sentence(counted)}."
    elif public.cases:
        text = f"All {len(public.cases)} public cases pass; {counted}."
    else:
        text = f"{_sentence(counted)}."
    if r.hint:
        text += f" Hint: {r.hint.message}"
    return text


def hidden_details(r: ExerciseResult) -> str:
    """Every hidden case of ``r``: its call, what it probes and what went wrong (for instructors,
    and for students once the due date has passed)."""
    lines = []
    for c in r.cases:
        if c.case.hidden:
            label = f" [{c.case.label}]" if c.case.label else ""
            lines.append(f"{'✔' if c.passed else '✘'} {c.case.call_text(r.exercise.name)}{label}"
                         + (f": {c.message}" if c.message else ""))
    return "\n".join(lines)


NAME_MAX = 255
"""the most bytes in a file name (Linux, and most file systems)"""


def file_name(student: str, suffix: str) -> str:
    """The name of a student's file in an output folder: ``<student><suffix>``, or, for a folder
    name so long that this would pass ``NAME_MAX`` bytes, its first 200 bytes, ``~`` and a hash of
    the whole (the results JSON and ``grades.csv`` still give the name in full)."""
    whole = os.fsencode(student)
    if len(whole) + len(suffix.encode()) <= NAME_MAX:
        return student + suffix
    return os.fsdecode(whole[:200]) + "~" + hashlib.sha256(whole).hexdigest()[:16] + suffix


def atomic_write(path: Path, data: str | bytes, *, durable: bool = False) -> None:
    """Write a file so that readers (and a resumed run) never see half of it.

    The data goes to a temporary file renamed over ``path``: a process killed at any moment
    (even ``kill -9``) leaves the old file or the new one. ``durable`` also survives a power
    cut (``fsync``, about a millisecond a file here); without it, a file torn by an OS crash
    reads as invalid JSON, which a resumed run grades again.
    """
    prefix = f".{path.name[:64]}."  # short: the name itself may take nearly all of a file name's 255 bytes
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
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


LOCK = ".grader-lock"
"""the file in an output folder that a grader command holds while it writes there (``writing_into``)"""


class OutputBusy(OSError):
    """Another grader command is writing into the same output folder."""


@contextmanager
def writing_into(out: Path) -> Iterator[None]:
    """Hold the output folder ``out`` (made if need be) while a command writes into it.

    A second ``grader grade`` (or ``similarity``) into the same folder would remove this one's
    files half-written and grade every student again: it stops at once instead (``OutputBusy``,
    naming this process). An ``flock``, so a run killed outright holds nothing; its file is
    removed when the command ends. Where the file system has no locks (some NFS), not held.
    """
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 20, 0).decode("ascii", "replace").strip()
            os.close(fd)
            named = f" (process {holder})" if holder else ""
            raise OutputBusy(f"another grader command is writing into {out}{named}: wait for it to end, "
                             "or give another --out") from None
        except OSError:
            held = False  # no locks on this file system
        else:
            held = True
            try:  # the file we locked may be one the last holder removed as it ended: then lock the new one
                if os.stat(path).st_ino != os.fstat(fd).st_ino:
                    os.close(fd)
                    continue
            except FileNotFoundError:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        break
    try:
        yield
    finally:
        if held:
            os.unlink(path)  # while still held: whoever opens it next finds it gone, and makes a new one
        os.close(fd)


def clean_partial_writes(out: Path) -> None:
    """Create ``out``'s folders, and remove temporary files a killed run left in them."""
    for sub in ("results", "feedback", "instructor"):
        folder = out / sub
        if sub != "instructor":  # made when a copy is first written there
            folder.mkdir(parents=True, exist_ok=True)
        for leftover in folder.glob(".*.tmp"):
            leftover.unlink(missing_ok=True)


def read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def assignment_of(saved: dict | None) -> str | None:
    """The assignment a saved results.json grades, if it says."""
    assignment = ((saved or {}).get("extra_data") or {}).get("assignment")
    return assignment if isinstance(assignment, str) else None


class OtherAssignment(OSError):
    """An output folder holds another assignment's results."""


def is_current(saved: dict | None, *, assignment_id: str, fingerprint: str, seed: int,
               hidden_feedback: str | None = None) -> bool:
    """Whether a saved results.json still holds for this assignment, submission and seed (and,
    when given, was written showing the hidden cases this way)."""
    extra = (saved or {}).get("extra_data") or {}
    return (assignment_of(saved) == assignment_id and extra.get("fingerprint") == fingerprint
            and extra.get("seed") == seed
            and extra.get("grader_version") == GRADER_VERSION and not extra.get("grader_fault")
            and (hidden_feedback is None or extra.get("hidden_feedback", "full") == hidden_feedback))


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
