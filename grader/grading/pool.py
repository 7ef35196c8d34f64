"""Grading on this machine: one worker process per core, each grading *and judging*.

``grade_local`` (in the ``grader grade`` process) starts ``workers`` processes, forked by a
zygote that has imported what they need once (``worker_zygote``); each is a ``worker.Worker``
with its own fork servers, forked by a zygote of their own (``client.server_zygote``). Each
gets the plan once (``course.codec`` bytes), then small batches of submissions to grade; it
writes each finished submission's files itself (``judging.Finished.write``) and sends back its
results and grades.csv row (``judging.Finished.pack``). So judging, the pictures and the files
take every core, and the ``grader grade`` process is left with the bookkeeping: anything it did
for every submission would be a ceiling for the whole run, whatever the number of cores. Frames
on the pipes are ``grader.sandbox.frames``'; the worker processes are as trusted as the
``grader grade`` process (they hold the answers; submissions never run in them).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import queue
import selectors
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from contextlib import ExitStack
from pathlib import Path
from typing import Callable

from course import codec
from grader.grading.judging import Finished
from grader.grading.judging import finish as render
from grader.grading.plan import Plan
from grader.grading.results import StudentResult
from grader.grading.submissions import Submission
from grader.quiet import QUIET_ENV
from grader.sandbox.client import ONE_THREAD_ENV, server_zygote
from grader.sandbox.frames import read_frame, write_frame
from grader.sandbox.processes import end, last_lines, set_name
from grader.sandbox.scratch import Scratch
from grader.sandbox.zygote import Forked, Zygote
from grader.sandbox.zygote import serve as fork_on_request

BATCH = 4
"""submissions per message to a worker; it is sent more once it has at most this many left"""
RETRIES = 1
"""how often a submission is resent after its worker process died (a grader fault)"""


def _item(sub: Submission, fingerprint: str) -> dict:
    return {"student": sub.student, "folder": str(sub.folder), "path": None if sub.path is None else str(sub.path),
            "problem": sub.problem, "fault": sub.fault, "fingerprint": fingerprint}


def _submission(item: dict) -> tuple[Submission, str]:
    path = item["path"]
    return (Submission(item["student"], Path(item["folder"]), None if path is None else Path(path), item["problem"],
                       item["fault"]), item["fingerprint"])


def _env() -> dict:
    # one worker per core: no BLAS threads of its own (as Dask does for its workers)
    return {**os.environ, **QUIET_ENV, **ONE_THREAD_ENV}


def worker_zygote(pictures: bool, servers: int | None) -> Zygote:
    """A zygote that forks the worker processes (``python -m grader.grading.pool --zygote``).

    A worker started afresh spends about 0.6 s of CPU importing NumPy, the grader and matplotlib
    before it grades anything: once per core, which on a 16-core machine is as much as grading
    several hundred submissions. This zygote pays it once (``grader.sandbox.zygote``): it warms
    the pictures, holds no plan (each worker gets the answers afterwards) and runs no submission
    code. ``servers``, the fork servers' zygote (``client.server_zygote``), is passed on to the
    workers. A run with one worker, not as root (``grade_local`` says why), or whose zygote has
    died, starts its workers afresh.
    """
    command = [sys.executable, "-m", "grader.grading.pool", *(() if pictures else ("--no-pictures",)), "--zygote"]
    return Zygote(command, env=_env(), pass_fds=() if servers is None else (servers,))


def zygote(control_fd: int, pictures: bool) -> None:
    """The workers' zygote (``worker_zygote``): import and warm up once, then fork a worker per request."""
    from grader import pictures as pictures_
    from grader.grading import worker  # noqa: F401  (everything a worker imports)

    set_name("worker-zygote")
    if pictures:
        pictures_.warm()
    gc.freeze()
    fork_on_request(control_fd, lambda request: serve([tuple(n) for n in request["needs"]], request["index"],
                                                      sys.stdin.buffer, sys.stdout.buffer, servers=request["servers"],
                                                      scratch=request["scratch"]))


class WorkerProcess:
    """The ``grader grade`` process's handle on one worker process: forked by ``zygote`` when
    there is one, else started afresh; its fork servers are forked by ``servers`` when there is
    one (``client.server_zygote``'s control socket). Their folders go in ``scratch``, if given
    (``grader.sandbox.scratch``)."""

    def __init__(self, index: int, needs: list[tuple[str, ...]], zygote: Zygote | None = None,
                 servers: int | None = None, scratch: str | None = None):
        self.index = index
        self.log = tempfile.TemporaryFile()
        self.process: subprocess.Popen | Forked | None = None
        if zygote is not None:
            try:
                self.process = zygote.fork({"index": index, "needs": [list(n) for n in needs], "servers": servers,
                                            "scratch": scratch}, stderr=self.log.fileno())
            except OSError:
                pass
        if self.process is None:
            cmd = [sys.executable, "-m", "grader.grading.pool", "--index", str(index),
                   "--needs", json.dumps([list(n) for n in needs])]
            if servers is not None:
                cmd += ["--servers", str(servers)]
            if scratch is not None:
                cmd += ["--scratch", scratch]
            self.process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                            bufsize=0, env=_env(), pass_fds=() if servers is None else (servers,))
        self.stdin, self.stdout = self.process.stdin, self.process.stdout
        self.outstanding: dict[str, tuple[Submission, str, int]] = {}
        """student -> (submission, fingerprint, tries) sent and not finished yet"""
        self.cpu = {}

    def configure(self, plan_data: bytes, feedback_options: dict, pictures: str, out: Path | None = None) -> None:
        settings = {"feedback_options": feedback_options, "pictures": pictures, "out": None if out is None else str(out)}
        write_frame(self.stdin, json.dumps(settings).encode())
        write_frame(self.stdin, plan_data)

    def ready(self) -> None:
        """Wait for the worker's fork servers to be configured; keeps what their jail reported
        (``grader.sandbox.client.PROTECTIONS``), which ``grader grade`` prints once.

        Raises:
            RuntimeError: the worker process failed to start.
        """
        frame = read_frame(self.stdout)
        if frame is None:
            raise RuntimeError(f"a grading worker failed to start: {self.stderr_tail()}")
        from grader.sandbox.client import PROTECTIONS

        PROTECTIONS.update(json.loads(frame).get("sandbox") or {})

    def send(self, batch: list[tuple[Submission, str, int]]) -> None:
        for sub, fingerprint, tries in batch:
            self.outstanding[sub.student] = (sub, fingerprint, tries)
        items = [_item(sub, fingerprint) for sub, fingerprint, _ in batch]
        write_frame(self.stdin, json.dumps({"items": items}).encode())

    def receive(self) -> Finished | None:
        """The next finished submission, or None when the worker has stopped."""
        frame = read_frame(self.stdout)
        if frame is None:
            return None
        done, meta = Finished.unpack(frame)
        self.outstanding.pop(done.student, None)
        self.cpu = meta["usage"]
        return done

    def histogram(self, scores: list[float], max_score: float) -> str | None:
        """The class report's score histogram (``class_report.histogram``), drawn by this worker
        once it has nothing left to grade; None if it could not."""
        try:
            write_frame(self.stdin, json.dumps({"histogram": {"scores": scores, "max_score": max_score}}).encode())
            frame = read_frame(self.stdout)
            return None if frame is None else json.loads(frame)["uri"]
        except (OSError, ValueError, KeyError):
            return None

    def stderr_tail(self) -> str:
        """What the stopped worker last said: the exception that stopped it (a traceback's last
        line, which names it), else its last three lines, else its exit status."""
        lines = last_lines(self.log.fileno())
        if "Traceback (most recent call last):" in lines:
            lines = lines[-1:]
        if isinstance(self.process, subprocess.Popen):
            status = f"exit status {self.process.poll()}"
        else:
            status = "it stopped without a message"  # its exit status went to the zygote
        return " / ".join(lines[-3:]) or status

    def close(self) -> None:
        end(self.process, timeout=30)
        self.stdout.close()
        self.log.close()


def grade_local(todo: list[Submission], plan_source, needs: list[tuple[str, ...]], *, workers: int,
                fingerprints: dict[str, str], finish: Callable[[Finished], None], started: Callable[[], None],
                usage: dict, feedback_options: dict, out: Path | None = None,
                wrap_up: Callable[[Callable[[list[float], float], str | None]], None] | None = None) -> Plan:
    """Grade ``todo`` with ``workers`` worker processes on this machine; ``finish`` gets each result.

    With ``out``, the workers write each student's files there themselves (``Finished.write``),
    and ``finish`` gets the results without the pages (``Finished.written``). ``wrap_up``, once
    every submission is finished, gets a function that has a worker draw the class report's
    histogram (``WorkerProcess.histogram``), so this process never imports matplotlib.

    ``plan_source.result()`` gives the plan (the worker processes and their fork servers start
    while it is computed). Adds to ``usage`` the CPU seconds by kind of process. Returns the plan.

    Raises:
        RuntimeError: a worker process could not start (a grader fault).
    """
    count = max(1, min(workers, len(todo)))
    # Not for one worker, and not as an ordinary user: the sandbox's children then run as that
    # user too, and a process limit counts every process of the user, so the zygote would take
    # one process from every submission's allowance.
    zygotes = count > 1 and os.geteuid() == 0
    # each process and folder is let go of at the end (in reverse order: the workers first), also
    # when a later one fails to start
    with ExitStack() as stack:
        scratch = stack.enter_context(Scratch())  # every folder of the run's processes, even if they were killed
        servers = server_zygote() if zygotes and () in needs else None
        server_fd = servers.fd if servers is not None else None
        if servers is not None:
            stack.callback(servers.close)
        zygote = worker_zygote(feedback_options.get("pictures", True), server_fd) if zygotes else None
        if zygote is not None:
            stack.callback(zygote.close)
        pool: list[WorkerProcess] = []
        stack.callback(lambda: [proc.close() for proc in pool])  # the workers of the moment
        for i in range(count):
            pool.append(WorkerProcess(i, needs, zygote, server_fd, scratch.path))
        shared = os.path.join(scratch.path, "pictures")  # the workers' pictures; goes with the scratch folder
        os.mkdir(shared, 0o700)
        plan = plan_source.result()
        data = codec.encode(plan.to_plain())
        for proc in pool:
            proc.configure(data, feedback_options, shared, out)
        for proc in pool:
            proc.ready()
        started()
        waiting = deque((sub, fingerprints[sub.student], 0) for sub in todo)
        selector = selectors.DefaultSelector()
        retired_cpu: list[dict] = []

        def top_up(proc: WorkerProcess) -> None:
            while len(proc.outstanding) <= BATCH and waiting:
                proc.send([waiting.popleft() for _ in range(min(BATCH, len(waiting)))])

        for proc in pool:
            selector.register(proc.stdout, selectors.EVENT_READ, proc)
            top_up(proc)
        while any(proc.outstanding for proc in pool):
            for key, _ in selector.select():
                proc = key.data
                done = proc.receive()
                if done is None:  # never a submission's doing: its fork servers are separate processes
                    selector.unregister(proc.stdout)
                    why = proc.stderr_tail()
                    lost = list(proc.outstanding.values())
                    retired_cpu.append(proc.cpu)
                    proc.close()
                    for sub, fingerprint, tries in lost:
                        if tries < RETRIES:
                            waiting.appendleft((sub, fingerprint, tries + 1))
                        else:
                            failed = StudentResult(sub.student, plan.assignment, seed=plan.seed,
                                                   problem=f"the grader's worker process failed: {why}")
                            finish(render(failed, **feedback_options))
                    fresh = WorkerProcess(proc.index, needs, zygote, server_fd, scratch.path)
                    fresh.configure(data, feedback_options, shared, out)
                    fresh.ready()
                    pool[pool.index(proc)] = fresh
                    selector.register(fresh.stdout, selectors.EVENT_READ, fresh)
                    top_up(fresh)
                    continue
                finish(done)
                top_up(proc)
        if wrap_up is not None:
            wrap_up(lambda scores, max_score: next(filter(None, (p.histogram(scores, max_score) for p in pool)), None))
        for cpu in retired_cpu + [proc.cpu for proc in pool]:
            for kind, seconds in cpu.items():
                usage[kind] = usage.get(kind, 0.0) + seconds
        if zygote is not None:  # what its workers did not pay for themselves
            usage["grading workers"] = usage.get("grading workers", 0.0) + zygote.cpu()
        if servers is not None:
            usage["fork servers"] = usage.get("fork servers", 0.0) + servers.cpu()
        return plan


def serve(needs: list[tuple[str, ...]], index: int, stdin, stdout, servers: int | None = None,
          scratch: str | None = None) -> None:
    """A worker process: the plan first, then batches of submissions; one reply per finished one.
    ``servers``: the fork servers' zygote, if any (``client.server_zygote``); ``scratch``: the
    run's scratch folder, for the fork servers' folders (``grader.sandbox.scratch``)."""
    from grader import pictures
    from grader.grading.worker import Worker

    set_name("grader-worker")
    # the fork servers start now, while the plan is computed
    worker = Worker(needs, index=index, servers=servers, scratch=scratch)
    try:
        header = read_frame(stdin)
        data = read_frame(stdin)
        if header is None or data is None:
            return
        settings = json.loads(header)
        out = None if settings.get("out") is None else Path(settings["out"])
        worker.feedback_options = settings["feedback_options"]
        pictures.share(settings["pictures"])
        worker.configure(Plan.from_plain(codec.decode(data)))
        if worker.feedback_options.get("pictures", True):
            pictures.warm()  # now, while every worker starts, not in the middle of grading
        # What this process holds for the whole run (modules, matplotlib, the plan) is never
        # garbage: frozen, the collector's full passes stop walking it for every submission.
        gc.freeze()
        from grader.sandbox.client import PROTECTIONS

        write_frame(stdout, json.dumps({"ready": True, "sandbox": PROTECTIONS}).encode())
        incoming: queue.SimpleQueue = queue.SimpleQueue()

        def read() -> None:  # always drained, so the parent never blocks writing to this process
            while (frame := read_frame(stdin)) is not None:
                incoming.put(json.loads(frame))
            incoming.put(None)

        threading.Thread(target=read, daemon=True).start()
        while True:
            while True:
                try:
                    message = incoming.get(block=not worker.busy)
                except queue.Empty:
                    break
                if message is None:
                    # the end of the run, or of the ``grader grade`` process (even killed): either
                    # way nothing more is wanted, and what is still queued here is dropped rather
                    # than graded, and its files written, after the run has stopped
                    return
                if "histogram" in message:  # the run's last request, once everything is graded
                    from grader.reports.class_report import histogram_or_none

                    write_frame(stdout, json.dumps({"uri": histogram_or_none(**message["histogram"])}).encode())
                    continue
                for item in message["items"]:
                    worker.add(*_submission(item))
            for done in worker.step():
                if out is not None:
                    done.write_if_possible(out)
                usage = {"submissions": worker.usage["submissions"], "fork servers": worker.usage["fork servers"],
                         "grading workers": time.process_time()}
                write_frame(stdout, done.pack({"usage": usage}))
    finally:
        worker.close()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="A grading worker process (started by `grader grade`).")
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--needs", default="[[]]", help="the kinds of fork server, as JSON lists of module names")
    parser.add_argument("--zygote", type=int, default=None, metavar="FD",
                        help="be the zygote that forks the workers, on requests from this socket")
    parser.add_argument("--no-pictures", action="store_true", help="(zygote) the workers draw no pictures")
    parser.add_argument("--servers", type=int, default=None, metavar="FD",
                        help="the control socket of the zygote that forks the fork servers")
    parser.add_argument("--scratch", default=None, metavar="DIR", help="the run's scratch folder")
    args = parser.parse_args(argv)
    if args.zygote is not None:
        return zygote(args.zygote, pictures=not args.no_pictures)
    serve([tuple(n) for n in json.loads(args.needs)], args.index, sys.stdin.buffer, sys.stdout.buffer,
          servers=args.servers, scratch=args.scratch)


if __name__ == "__main__":
    main()
