"""``grader grade``: grade a whole class, each submission in its own sandboxed process.

The expensive, trusted work happens once per run, in a subprocess: Keras computes the answers
to the public and hidden cases (``grader.grading.plan``), unless a plan file made by ``grader plan``
is given (then no TensorFlow at all). Grading proper happens in ``grader.grading``: worker
processes (one per core, ``grading.pool``) or Dask tasks (``grader.grading.distributed``) each grade
submissions in their own warm fork servers *and judge them*, and write each student's files,
atomically, results last (a Dask task sends them back, and this process writes them), so a run
stopped at any point (even ``kill -9``) resumes where it left off. This process keeps the
results; then it writes ``grades.csv`` and the class report.
"""
from __future__ import annotations

import os
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from course import exercises
from grader.grading.judging import Finished, judge_reply, merge_replies, without_file  # noqa: F401  (re-exported)
from grader.grading.plan import Group, Plan, PlanProcess, grading_order, make_plan  # noqa: F401  (re-exported)
from grader.grading.results import (
    OtherAssignment,
    StudentResult,
    assignment_of,
    check_hidden_feedback,
    clean_partial_writes,
    csv_row,
    file_name,
    grader_fault,
    is_current,
    read_json,
    readable,
    write_csv,
    writing_into,
)
from grader.grading.submissions import Submission, discover
from grader.grading.worker import configure, kinds
from grader.reports import class_report
from grader.sandbox.client import Sandbox, decode_reply


def open_sandboxes(plan: Plan, *, worker: int = 0) -> dict[tuple[str, ...], Sandbox]:
    """One fork server per kind the plan's groups need, each configured with its groups."""
    boxes = {needs: Sandbox(worker=worker, preload=needs) for needs in dict.fromkeys(g.needs for g in plan.groups)}
    for sandbox in boxes.values():
        configure(sandbox, plan)
    return boxes


def grade_submission(sub: Submission, plan: Plan, sandboxes: dict[tuple[str, ...], Sandbox]) -> StudentResult:
    """Grade one submission with ``open_sandboxes``' servers, here (tools and tests; never raises
    for anything the submission does)."""
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
    workers: int = 0
    """the grading worker processes of a local run (0 on a Dask cluster, or with nothing to grade)"""
    grader_faults: list[str] = field(default_factory=list)
    """students the grader itself failed (``StudentResult.grader_fault``): no grade, regraded next run"""
    grading_seconds: float = 0.0
    """from the first request (references ready, servers up) to the last result"""
    cpu_seconds: float = 0.0
    """CPU time spent grading (this process, the workers, fork servers, sandboxes), Keras aside"""
    keras_cpu_seconds: float = 0.0
    """CPU time spent computing the Keras references"""
    cpu_breakdown: dict[str, float] = field(default_factory=dict)
    """``cpu_seconds`` by who spent it: submissions' processes, fork servers, the grading workers
    (judging, feedback pages) and this process (writing files)"""

    @property
    def rate(self) -> float:
        return self.graded / self.grading_seconds if self.grading_seconds > 0 else 0.0


def grade(assignment_id: str, submissions_dir, out, *, workers: int | None = None, timeout: float | None = None,
          seed: int | None = None, progress: bool | None = None, scheduler: str | None = None,
          pictures: bool = True, hidden_feedback: str = "summary", plan: str | os.PathLike | None = None) -> Summary:
    """Grade every student folder in ``submissions_dir`` into ``out``; see the module docstring.

    ``pictures=False`` leaves the pictures out of the feedback pages (faster).
    ``hidden_feedback="summary"`` shows students only how many hidden cases passed (and the hint),
    and writes the details to ``out/instructor/<student>.html``; ``"full"`` shows them everything.
    ``plan``: a file written by ``grader plan`` (then TensorFlow is never imported for A1-A3);
    ``seed`` defaults to its seed, else to 0.

    Raises:
        KeyError: unknown assignment. NotADirectoryError: no such submissions folder.
        grader.grading.plan_file.PlanFileError: ``plan`` is for another run, or damaged.
    """
    start = time.perf_counter()
    out = Path(out)
    check_hidden_feedback(hidden_feedback)
    assignment = exercises.assignment(assignment_id)
    ready = None
    if plan is not None:
        from grader.grading.plan_file import Ready, read_plan

        ready = Ready(read_plan(plan, assignment_id=assignment_id, seed=seed, timeout=timeout))
        seed = ready.plan.seed
    seed = 0 if seed is None else seed
    subs = discover(submissions_dir, assignment_id, exclude=(out,))
    with writing_into(out):  # no other grader command writes into ``out`` meanwhile
        clean_partial_writes(out)
        summary = Summary()
        fingerprints = {s.student: s.fingerprint() for s in subs}
        saved: dict[str, dict] = {}
        todo: list[Submission] = []
        for sub in subs:
            old = read_json(out / "results" / file_name(sub.student, ".json"))
            other = assignment_of(old)
            if other not in (None, assignment.id):  # a student's folder may hold every assignment's file
                raise OtherAssignment(f"{out} holds {other}'s results (results/{readable(sub.student)}.json), which "
                                      f"grading {assignment.id} there would replace: give it an --out of its own")
            if is_current(old, assignment_id=assignment.id, fingerprint=fingerprints[sub.student], seed=seed,
                          hidden_feedback=hidden_feedback):
                saved[sub.student] = old
            else:
                todo.append(sub)
        summary.reused = len(saved)
        drawn: dict[str, str | None] = {}
        """the class report's histogram, if a grading worker drew it"""
        if todo:
            workers = max(1, min(workers or cores(), len(todo)))  # as grade_local starts them: not more than work
            summary.workers = 0 if scheduler else workers
            show = sys.stderr.isatty() if progress is None else progress
            bar = tqdm(total=len(todo), unit="sub", disable=not show, desc=assignment_id, smoothing=0.1)

            def finish(done: Finished) -> None:
                if not done.written:  # a Dask task's (a local worker writes its own: ``pool.grade_local``)
                    done.write(out)
                saved[done.student] = done.results
                bar.update(1)

            clock = Clock(bar)
            cpu_start, process_start = _cpu(), time.process_time()
            planner = ready or PlanProcess(assignment_id, seed=seed, timeout=timeout)  # Keras, in its own process
            usage: dict[str, float] = {}
            options = {"pictures": pictures, "hidden_feedback": hidden_feedback}

            def wrap_up(draw) -> None:
                summary.grading_seconds = clock.seconds()  # grading is over: the histogram is the report's
                # the workers are still up, their matplotlib warm: this process need not import it
                drawn["histogram"] = draw(class_report.class_scores([saved[s.student] for s in subs]),
                                          assignment.max_score)

            try:
                if scheduler:
                    from grader.grading import distributed

                    distributed.grade_all(scheduler, todo, planner, fingerprints, finish, clock.start, usage=usage,
                                          out=out, feedback_options=options, wrap_up=wrap_up)
                else:
                    from grader.grading import pool

                    pool.grade_local(todo, planner, kinds(assignment), workers=workers, fingerprints=fingerprints,
                                     finish=finish, started=clock.start, usage=usage, feedback_options=options, out=out,
                                     wrap_up=wrap_up)
                summary.grading_seconds = summary.grading_seconds or clock.seconds()
            finally:
                planner.cancel()
                bar.close()
            summary.graded = len(todo)
            clean_partial_writes(out)  # a worker that died while writing a file left its temporary copy
            summary.keras_cpu_seconds = planner.cpu
            summary.cpu_seconds = _cpu() - cpu_start - planner.cpu
            summary.cpu_breakdown = {**usage, "grader grade (writing)": time.process_time() - process_start}
            if scheduler:  # the cluster's CPU is not this machine's
                summary.cpu_seconds = sum(summary.cpu_breakdown.values())
        for sub in subs:
            summary.rows.append(csv_row(saved[sub.student], assignment))
            if grader_fault(saved[sub.student]):
                summary.grader_faults.append(readable(sub.student))
            summary.seconds_by_student[readable(sub.student)] = float(saved[sub.student].get("execution_time") or 0.0)
        write_csv(out / "grades.csv", summary.rows, assignment)
        class_report.write(out / "report.html", [saved[sub.student] for sub in subs], assignment,
                           histogram_uri=drawn.get("histogram"))
        summary.seconds = time.perf_counter() - start
        return summary


def cores() -> int:
    """The cores this process may use: its CPU affinity (``taskset``, a cpuset) and its cgroup's
    CPU quota (a container's ``--cpus``, a Kubernetes limit) count, not the machine's. Inside a
    2-CPU container on a 64-core host, ``os.cpu_count()`` would start 64 workers, each with its
    fork servers and their memory. Dask's own count, which reads both (cgroup v1 and v2)."""
    from dask.system import cpu_count

    return cpu_count()


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
