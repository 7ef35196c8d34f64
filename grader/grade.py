"""``grader grade``: grade a whole class, each submission in its own sandboxed process.

The expensive, trusted work happens once per run, in a subprocess: Keras computes the answers
to the public and hidden cases (``grader.plan``). Fork servers (one per worker, NumPy only,
warm) receive the case inputs and correct-callee sources once; then each submission costs one
request: a fresh, confined child loads its definitions once and grades every function, callees
before callers. An assignment with exercises that need Keras (A4) also has one Keras-preloading
server per worker, which grades those exercises (and the saved model file) in children of
their own. Returned values come back as plain data and are judged here. Results are written per
student as they finish, atomically, so a run stopped at any point (even ``kill -9``) resumes
where it left off. With ``scheduler``, the same requests run on a Dask cluster
(``grader.distributed``).
"""
from __future__ import annotations

import json
import os
import queue
import resource
import selectors
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from course import exercises
from course.calls import Outcome
from course.exercises.base import Case, Exercise
from course.judge import ExerciseResult, judge_all
from grader import class_report, feedback
from grader.plan import Group, Plan, PlanProcess, grading_order, make_plan  # noqa: F401  (re-exported)
from grader.results import (StudentResult, atomic_write, check_hidden_feedback, clean_partial_writes, csv_row,
                            is_current, read_json, readable, write_csv)
from grader.sandbox.client import Sandbox, SandboxDied, decode_reply
from grader.submissions import Submission, discover

IN_FLIGHT = 2
"""requests queued per fork server, so it never waits for the parent to judge the last one"""
RETRIES = 1
"""how often a submission is resent after its fork server died (a grader fault)"""


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


def open_sandboxes(plan: Plan, *, worker: int = 0) -> dict[tuple[str, ...], Sandbox]:
    """One fork server per kind the plan's groups need, each configured with its groups."""
    boxes = {needs: Sandbox(worker=worker, preload=needs) for needs in dict.fromkeys(g.needs for g in plan.groups)}
    for sandbox in boxes.values():
        configure(sandbox, plan)
    return boxes


def configure(sandbox: Sandbox, plan: Plan) -> None:
    """Send the fork server the plan's groups of the kind it preloaded for (``Sandbox.preload``)."""
    for group in plan.groups:
        if group.needs == sandbox.preload:
            sandbox.configure(group.functions, limits=group.limits, load_timeout=plan.load_timeout, group=group.name)


def grade_submission(sub: Submission, plan: Plan, sandboxes: dict[tuple[str, ...], Sandbox]) -> StudentResult:
    """Grade one submission with ``open_sandboxes``' servers (never raises for anything it does)."""
    fingerprint = sub.fingerprint()
    if sub.path is None:
        return without_file(sub, plan, fingerprint)
    path = os.path.abspath(sub.path)
    replies = [decode_reply(sandboxes[g.needs].grade(path, group=g.name)) for g in plan.groups]
    return judge_reply(sub, plan, merge_replies(replies), fingerprint=fingerprint)


@dataclass
class Summary:
    rows: list[dict] = field(default_factory=list)
    """``grades.csv``'s rows, one per student"""
    seconds_by_student: dict[str, float] = field(default_factory=dict)
    """how long each submission took in its sandbox (this run's, or the saved one's)"""
    graded: int = 0
    reused: int = 0
    seconds: float = 0.0
    grading_seconds: float = 0.0
    """from the first request (references ready, servers up) to the last result"""
    cpu_seconds: float = 0.0
    """CPU time this machine spent grading (this process, fork servers, sandboxes), Keras aside"""
    keras_cpu_seconds: float = 0.0
    """CPU time spent computing the Keras references"""
    cpu_breakdown: dict[str, float] = field(default_factory=dict)
    """``cpu_seconds`` by who spent it, for a local run: submissions' processes, fork servers,
    this process (judging and writing)"""

    @property
    def rate(self) -> float:
        return self.graded / self.grading_seconds if self.grading_seconds > 0 else 0.0


def grade(assignment_id: str, submissions_dir, out, *, workers: int | None = None, timeout: float | None = None,
          seed: int = 0, progress: bool | None = None, scheduler: str | None = None,
          pictures: bool = True, hidden_feedback: str = "summary") -> Summary:
    """Grade every student folder in ``submissions_dir`` into ``out``; see the module docstring.

    ``pictures=False`` leaves the pictures out of the feedback pages (faster).
    ``hidden_feedback="summary"`` shows students only how many hidden cases passed (and the hint),
    and writes the details to ``out/instructor/<student>.html``; ``"full"`` shows them everything.

    Raises:
        KeyError: unknown assignment. NotADirectoryError: no such submissions folder.
    """
    start = time.perf_counter()
    out = Path(out)
    check_hidden_feedback(hidden_feedback)
    assignment = exercises.assignment(assignment_id)
    subs = discover(submissions_dir, assignment_id)
    clean_partial_writes(out)
    summary = Summary()
    fingerprints = {s.student: s.fingerprint() for s in subs}
    saved: dict[str, dict] = {}
    todo: list[Submission] = []
    for sub in subs:
        old = read_json(out / "results" / f"{sub.student}.json")
        if is_current(old, fingerprint=fingerprints[sub.student], seed=seed, hidden_feedback=hidden_feedback):
            saved[sub.student] = old
        else:
            todo.append(sub)
    summary.reused = len(saved)
    if todo:
        workers = max(1, workers or os.cpu_count() or 1)
        show = sys.stderr.isatty() if progress is None else progress
        bar = tqdm(total=len(todo), unit="sub", disable=not show, desc=assignment_id, smoothing=0.1)

        writer = Writer(out, pictures=pictures, hidden_feedback=hidden_feedback)

        def finish(result: StudentResult) -> None:
            saved[result.student] = writer.put(result)
            bar.update(1)

        clock = Clock(bar)
        cpu_start, process_start = _cpu(), time.process_time()
        planner = PlanProcess(assignment_id, seed=seed, timeout=timeout)  # Keras, in its own process
        try:
            if scheduler:
                from grader import distributed

                distributed.grade_all(scheduler, todo, planner, fingerprints, finish, clock.start)
            else:
                summary.cpu_breakdown = {"submissions": 0.0, "fork servers": 0.0}
                _grade_local(todo, assignment, planner, workers, fingerprints, finish, clock.start,
                             summary.cpu_breakdown)
            summary.grading_seconds = clock.seconds()
        finally:
            planner.cancel()
            bar.close()
            writer.close()
        summary.graded = len(todo)
        summary.keras_cpu_seconds = planner.cpu
        summary.cpu_seconds = _cpu() - cpu_start - planner.cpu
        if summary.cpu_breakdown:
            summary.cpu_breakdown["judging and writing"] = time.process_time() - process_start
    for sub in subs:
        summary.rows.append(csv_row(saved[sub.student], assignment))
        summary.seconds_by_student[readable(sub.student)] = float(saved[sub.student].get("execution_time") or 0.0)
    write_csv(out / "grades.csv", summary.rows, assignment)
    class_report.write(out / "report.html", [saved[sub.student] for sub in subs], assignment)
    summary.seconds = time.perf_counter() - start
    return summary


def _cpu() -> float:
    """CPU seconds of this process and of every child process it has waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class Clock:
    """When grading proper began (the references computed), for the submissions/s rate."""

    def __init__(self, bar: tqdm):
        self.bar, self.begun = bar, None

    def start(self) -> None:
        self.begun = time.perf_counter()
        self.bar.reset()  # the progress bar's rate, too, counts from here

    def seconds(self) -> float:
        return time.perf_counter() - self.begun if self.begun else 0.0


def without_file(sub: Submission, plan: Plan, fingerprint: str) -> StudentResult:
    return StudentResult(sub.student, plan.assignment, problem=sub.problem, seed=plan.seed, fingerprint=fingerprint)


def _grade_local(todo: list[Submission], assignment, planner: PlanProcess, workers: int,
                 fingerprints: dict[str, str], finish: Callable[[StudentResult], None], started: Callable[[], None],
                 usage: dict) -> None:
    """Grade ``todo`` with ``workers`` fork servers of each kind on this machine, judging here as
    replies arrive.

    Each submission is one request per group (``Plan.groups``: one for A1-A3), sent to a server
    of the kind the group needs; its result is judged once every group has replied. Adds to
    ``usage`` the CPU seconds of the submissions' processes and of the fork servers.
    """
    with_file = [sub for sub in todo if sub.path is not None]
    kinds = sorted({ex.needs for ex in assignment.exercises})
    # the servers warm up while Keras computes the answers
    pools = {needs: [Sandbox(worker=i, preload=needs) for i in range(min(workers, len(with_file)))] for needs in kinds}
    try:
        plan = planner.result()
        groups = plan.groups
        started()
        for sub in todo:
            if sub.path is None:
                finish(without_file(sub, plan, fingerprints[sub.student]))
        queues = {needs: deque((sub, g, 0) for sub in with_file for g in groups if g.needs == needs) for needs in kinds}
        replies: dict[str, dict[str, dict]] = {}
        selector = selectors.DefaultSelector()
        jobs: dict[Sandbox, deque] = {}
        server_cpu: dict[Sandbox, float] = {}

        def start(sandbox: Sandbox) -> None:
            configure(sandbox, plan)
            jobs[sandbox] = deque()
            selector.register(sandbox.stdout, selectors.EVENT_READ, sandbox)
            feed(sandbox)

        def feed(sandbox: Sandbox) -> None:
            waiting = queues[sandbox.preload]
            while sandbox.in_flight < IN_FLIGHT and waiting:
                sub, group, tries = waiting.popleft()
                sandbox.submit(os.path.abspath(sub.path), group=group.name)  # the child works in its own folder
                jobs[sandbox].append((sub, group, tries))

        def arrived(sub: Submission, group: Group, reply: dict) -> None:
            got = replies.setdefault(sub.student, {})
            got[group.name] = reply
            if len(got) == len(groups):
                del replies[sub.student]
                merged = merge_replies([got[g.name] for g in groups])
                finish(judge_reply(sub, plan, merged, fingerprint=fingerprints[sub.student]))

        for pool in pools.values():
            for sandbox in pool:
                start(sandbox)
        while any(jobs.values()):
            for key, _ in selector.select():
                sandbox = key.data
                try:
                    envelope = sandbox.receive()
                except SandboxDied as e:
                    fresh = _replace(sandbox, pools[sandbox.preload], jobs, queues[sandbox.preload], selector, arrived, str(e))
                    start(fresh)
                    continue
                sub, group, _ = jobs[sandbox].popleft()
                feed(sandbox)
                reply = decode_reply(envelope)
                usage["submissions"] += float(reply.get("cpu") or 0.0)
                server_cpu[sandbox] = float(reply.get("server_cpu") or 0.0)
                arrived(sub, group, reply)
        usage["fork servers"] = sum(server_cpu.values())
    finally:
        for pool in pools.values():
            for sandbox in pool:
                sandbox.close()


def _replace(dead: Sandbox, pool: list[Sandbox], jobs, waiting: deque, selector, arrived, why: str) -> Sandbox:
    """A fork server died (never a submission's doing): resend its requests to a fresh one."""
    selector.unregister(dead.stdout)
    dead.close()
    pool.remove(dead)
    for sub, group, tries in jobs.pop(dead):
        if tries < RETRIES:
            waiting.appendleft((sub, group, tries + 1))
        else:
            arrived(sub, group, {"status": "error", "detail": why})
    pool.append(Sandbox(worker=len(pool), preload=dead.preload))
    return pool[-1]


def files(result: StudentResult, out: Path, payload: dict | None = None, *,
          pictures: bool = True, hidden_feedback: str = "summary") -> list[tuple[Path, str]]:
    """A student's files in the order they are written: feedback (and, when the student's page
    keeps the hidden cases hidden, the instructor's copy), then results.json, whose presence
    means "graded" to a resumed run."""
    payload = payload or result.to_gradescope(hidden_feedback=hidden_feedback)
    written = [(out / "feedback" / f"{result.student}.html",
                feedback.render(result, pictures=pictures, hidden_feedback=hidden_feedback))]
    if hidden_feedback == "summary":
        written.append((out / "instructor" / f"{result.student}.html",
                        feedback.render(result, pictures=pictures, instructor=True)))
    return written + [(out / "results" / f"{result.student}.json", json.dumps(payload, indent=1))]


def save(result: StudentResult, out: Path, *, pictures: bool = True, hidden_feedback: str = "summary") -> dict:
    """Write a student's files now; returns their results.json content."""
    payload = result.to_gradescope(hidden_feedback=hidden_feedback)
    for path, text in files(result, out, payload, pictures=pictures, hidden_feedback=hidden_feedback):
        atomic_write(path, text)
    return payload


class Writer:
    """Renders and writes students' files on a background thread, in order, so the judging loop
    never waits for pictures or the disk. ``close`` waits for the last file and re-raises a
    failed write."""

    def __init__(self, out: Path, *, pictures: bool = True, hidden_feedback: str = "summary"):
        self.out, self.pictures, self.hidden_feedback = out, pictures, hidden_feedback
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="grader-writer", daemon=True)
        self.thread.start()

    def put(self, result: StudentResult) -> dict:
        """Queue ``result``'s files; returns its results.json content."""
        if self.error is not None:
            raise self.error
        payload = result.to_gradescope(hidden_feedback=self.hidden_feedback)
        self.queue.put((result, payload))
        return payload

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.error is None:
                try:
                    result, payload = item
                    for path, text in files(result, self.out, payload, pictures=self.pictures,
                                            hidden_feedback=self.hidden_feedback):
                        atomic_write(path, text)
                except BaseException as e:  # disk full, permissions: the grader's fault, reported
                    self.error = e

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error
