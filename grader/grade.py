"""``grader grade``: grade a whole class, each submission in its own sandboxed processes.

The expensive, trusted work happens once per run in this process: Keras computes the answers
to the public and hidden cases. Each (student, function) pair then runs in a child of a warm
fork server that holds only the case inputs; returned values come back as plain data and are
judged here. Results are written per student as they finish, atomically, so a run that is
stopped at any point resumes where it left off.
"""
from __future__ import annotations

import concurrent.futures
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from course import exercises
from course.calls import Outcome
from course.exercises.base import Assignment, Case
from course.fixtures import case_to_plain, public_cases
from course.judge import ExerciseResult, judge_all
from grader import class_report, feedback, references, solutions
from grader.results import StudentResult, atomic_write, csv_row, is_current, read_json, write_csv
from grader.sandbox.client import Sandbox, allowed_imports, limits_for
from grader.submissions import Submission, discover




@dataclass
class Plan:
    """Everything needed to grade any submission of one assignment in this run."""

    assignment: Assignment
    cases: dict[str, list[Case]]
    """public + hidden cases, with Keras answers (never sent to a sandbox)"""
    requests: dict[str, dict]
    """per function, the sandbox request minus the submission path"""
    seed: int


def make_plan(assignment_id: str, *, seed: int, timeout: float | None = None) -> Plan:
    assignment = exercises.assignment(assignment_id)
    hidden = references.hidden_cases(assignment_id, seed)
    cases = {name: public_cases(assignment_id)[name] + hidden[name] for name in assignment.names}
    requests = {}
    for ex in assignment.exercises:
        requests[ex.name] = {
            "function": ex.name,
            "cases": [case_to_plain(c, with_answer=False) for c in cases[ex.name]],
            "inject": solutions.callee_sources(assignment_id, ex.calls),
            "timeout": float(timeout or ex.timeout),
        }
        requests[ex.name].update(heavy_options(ex))
    return Plan(assignment, cases, requests, seed)


def heavy_options(ex) -> dict:
    """Request fields for an exercise that needs Keras, returns an object, or grades a file."""
    options = {}
    if ex.needs:
        options.update(allow=allowed_imports(ex.needs), limits=limits_for(ex.needs))
    if ex.adapter is not None:
        options["adapter"] = f"{ex.adapter.__module__}:{ex.adapter.__qualname__}"
    if ex.artifact:
        options["artifact"] = ex.artifact
    return options


def grade_submission(sub: Submission, plan: Plan, sandbox: Sandbox, heavy=None) -> StudentResult:
    """Grade one submission (never raises for anything the submission does).

    ``heavy(needs) -> Sandbox`` gives the sandbox for exercises that need a heavy library
    (``Exercise.needs``, e.g. Keras); by default ``sandbox`` runs everything.
    """
    start = time.perf_counter()
    result = StudentResult(sub.student, plan.assignment, seed=plan.seed, fingerprint=sub.fingerprint())
    if sub.path is None:
        result.problem = sub.problem
        return result
    notes: list[str] = []
    for ex in plan.assignment.exercises:
        box = heavy(ex.needs) if ex.needs and heavy is not None else sandbox
        reply = box.run({**plan.requests[ex.name], "submission": str(sub.path.resolve())})
        ex_result, fatal, ex_notes = _judge_reply(ex, plan.cases[ex.name], reply)
        if fatal:
            result.problem = fatal
            result.exercises = []
            break
        notes += [n for n in ex_notes if n not in notes]
        result.exercises.append(ex_result)
    result.notes = notes
    result.seconds = time.perf_counter() - start
    return result


def _judge_reply(ex, cases, reply) -> tuple[ExerciseResult, str, list[str]]:
    status = reply.get("status")
    if status != "ok":
        return ExerciseResult(ex, problem=f"{ex.name}: {reply.get('detail') or status}"), "", []
    data = reply["result"]
    if not isinstance(data, dict):
        return ExerciseResult(ex, problem=f"{ex.name}: the sandbox returned no result"), "", []
    if isinstance(data.get("fatal"), str):
        return ExerciseResult(ex), data["fatal"], []
    notes = [n for n in data.get("notes") or [] if isinstance(n, str)]
    if isinstance(data.get("missing"), str):
        return ExerciseResult(ex, problem=data["missing"]), "", notes
    raw = data.get("outcomes")
    outcomes = [Outcome.from_plain(o) for o in raw] if isinstance(raw, list) else []
    return judge_all(ex, cases, outcomes[: len(cases)]), "", notes


@dataclass
class Summary:
    rows: list[dict] = field(default_factory=list)
    graded: int = 0
    reused: int = 0
    seconds: float = 0.0


def grade(assignment_id: str, submissions_dir, out, *, workers: int | None = None, timeout: float | None = None,
          seed: int = 0, progress: bool | None = None, pictures: bool = True) -> Summary:
    """Grade every student folder in ``submissions_dir`` into ``out``; see the module docstring.

    ``pictures=False`` leaves the pictures out of the feedback pages (faster).

    Raises:
        KeyError: unknown assignment. NotADirectoryError: no such submissions folder.
    """
    start = time.perf_counter()
    out = Path(out)
    subs = discover(submissions_dir, assignment_id)
    assignment = exercises.assignment(assignment_id)
    summary = Summary()
    todo = []
    for sub in subs:
        saved = read_json(out / "results" / f"{sub.student}.json")
        if is_current(saved, fingerprint=sub.fingerprint(), seed=seed):
            summary.reused += 1
        else:
            todo.append(sub)
    if todo:
        plan = make_plan(assignment_id, seed=seed, timeout=timeout)
        _grade_all(todo, plan, out, workers or os.cpu_count() or 1, progress, pictures)
        summary.graded = len(todo)
    saved = [read_json(out / "results" / f"{s.student}.json") for s in subs]
    summary.rows = [csv_row(r, assignment) for r in saved]
    write_csv(out / "grades.csv", summary.rows, assignment)
    class_report.write(out / "report.html", saved, assignment)
    summary.seconds = time.perf_counter() - start
    return summary


def _grade_all(todo: list[Submission], plan: Plan, out: Path, workers: int, progress: bool | None,
               pictures: bool = True) -> None:
    local = threading.local()
    sandboxes: list[Sandbox] = []
    lock = threading.Lock()

    def sandbox() -> Sandbox:
        if not hasattr(local, "sandbox"):
            with lock:
                local.sandbox = Sandbox(worker=len(sandboxes))
                sandboxes.append(local.sandbox)
        return local.sandbox

    def heavy(needs: tuple[str, ...]) -> Sandbox:
        """This thread's sandbox that preloaded ``needs`` (started on first use; its own uid)."""
        boxes = local.__dict__.setdefault("heavy", {})
        if needs not in boxes:
            with lock:
                boxes[needs] = Sandbox(worker=len(sandboxes), preload=needs)
                sandboxes.append(boxes[needs])
        return boxes[needs]

    def one(sub: Submission) -> None:
        result = grade_submission(sub, plan, sandbox(), heavy)
        save(result, out, pictures=pictures)

    show = sys.stderr.isatty() if progress is None else progress
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool, \
                tqdm(total=len(todo), unit="sub", disable=not show, desc=plan.assignment.id) as bar:
            for future in concurrent.futures.as_completed(pool.submit(one, s) for s in todo):
                future.result()
                bar.update(1)
    finally:
        for s in sandboxes:
            s.close()


def save(result: StudentResult, out: Path, *, pictures: bool = True) -> None:
    import json

    atomic_write(out / "feedback" / f"{result.student}.html", feedback.render(result, pictures=pictures))
    atomic_write(out / "results" / f"{result.student}.json", json.dumps(result.to_gradescope(), indent=1))
