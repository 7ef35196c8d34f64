"""Grading on this machine: one worker process per core, each grading *and judging*.

``grade_local`` (in the ``grader grade`` process) starts ``workers`` processes, forked by a
``Zygote`` that has imported what they need once; each is a ``worker.Worker`` with its own fork
servers. Each gets the plan once (``course.codec`` bytes), then small batches of submissions to
grade; it sends back every submission finished (``judging.Finished.pack``: results, grades.csv
row, feedback pages). So judging and the pictures take every core, and the ``grader grade``
process is left with writing files. Frames on the sockets and pipes are
``grader.sandbox.frames``'; the worker processes are as trusted as the ``grader grade`` process
(they hold the answers; submissions never run in them).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import queue
import select
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import deque
from pathlib import Path
from typing import Callable

from course import codec
from grader.grading.judging import Finished, finish as render
from grader.plan import Plan
from grader.quiet import QUIET_ENV
from grader.results import StudentResult
from grader.sandbox.client import ONE_THREAD_ENV
from grader.sandbox.frames import read_frame, write_frame
from grader.sandbox.processes import cpu_seconds, end, read_small
from grader.submissions import Submission

BATCH = 4
"""submissions per message to a worker; it is sent more once it has at most this many left"""
RETRIES = 1
"""how often a submission is resent after its worker process died (a grader fault)"""


def _item(sub: Submission, fingerprint: str) -> dict:
    return {"student": sub.student, "folder": str(sub.folder), "path": None if sub.path is None else str(sub.path),
            "problem": sub.problem, "fingerprint": fingerprint}


def _submission(item: dict) -> tuple[Submission, str]:
    path = item["path"]
    return (Submission(item["student"], Path(item["folder"]), None if path is None else Path(path), item["problem"]),
            item["fingerprint"])


def _env() -> dict:
    # one worker per core: no BLAS threads of its own (as Dask does for its workers)
    return {**os.environ, **QUIET_ENV, **ONE_THREAD_ENV}


class Zygote:
    """A warm process that forks the worker processes (``python -m grader.grading.pool --zygote``).

    A worker started afresh spends about 0.6 s of CPU importing NumPy, the grader and matplotlib
    before it grades anything: once per core, which on a 16-core machine is as much as grading
    several hundred submissions. Forked from this process, which paid for it once, a worker
    starts in milliseconds. The zygote only imports: it never holds a plan (each worker gets the
    answers afterwards) and never runs submission code, so its workers are what workers started
    afresh are. Each talks to ``grader grade`` on a socket of its own, which ``fork`` hands the
    zygote with the worker's log file (``socket.send_fds``). A run with one worker, not as root
    (``grade_local`` says why), or whose zygote has died, starts its workers afresh.
    """

    def __init__(self, pictures: bool):
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cmd = [sys.executable, "-m", "grader.grading.pool", "--zygote", str(theirs.fileno())]
        if not pictures:
            cmd.append("--no-pictures")
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(cmd, pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=self.log, env=_env())
        theirs.close()

    def fork(self, index: int, needs: list[tuple[str, ...]], log: int) -> tuple[int, socket.socket]:
        """A new worker process: a pidfd for it (its pid could be reused once it is gone; the
        zygote opened this before it could reap the worker), and the socket to talk to it.

        Raises:
            OSError: the zygote has stopped (start the worker afresh instead).
        """
        mine, theirs = socket.socketpair()
        try:
            request = json.dumps({"index": index, "needs": [list(n) for n in needs]}).encode()
            socket.send_fds(self.control, [request], [theirs.fileno(), log])
            _, fds, _, _ = socket.recv_fds(self.control, 64, 1)
        finally:
            theirs.close()
        if not fds:
            mine.close()
            raise OSError("the grading workers' zygote has stopped")
        return fds[0], mine

    def cpu(self) -> float:
        """The CPU seconds the zygote itself has used (its imports), 0 if it can't be read."""
        try:
            return cpu_seconds(read_small(f"/proc/{self.process.pid}/stat"))
        except (OSError, IndexError, ValueError):
            return 0.0

    def close(self) -> None:
        self.control.close()  # end of requests: the zygote reaps its workers and exits
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def zygote(control_fd: int, pictures: bool) -> None:
    """The zygote's life (``Zygote``): import and warm up once, then fork a worker per request."""
    from grader import pictures as pictures_
    from grader.grading import worker  # noqa: F401  (everything a worker imports)

    if pictures:
        pictures_.warm()
    gc.freeze()
    control = socket.socket(fileno=control_fd)
    while True:
        try:
            request, fds, _, _ = socket.recv_fds(control, 4096, 2)
        except OSError:
            request, fds = b"", []
        if not request:
            break
        request = json.loads(request)
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                control.close()
                conn, log = fds
                os.dup2(log, 2)
                os.close(log)
                stdin, stdout = os.fdopen(conn, "rb", buffering=0), os.fdopen(os.dup(conn), "wb", buffering=0)
                serve([tuple(n) for n in request["needs"]], request["index"], stdin, stdout)
                status = 0
            except BaseException:
                traceback.print_exc()  # to the worker's log, which grader grade quotes
            finally:
                sys.stderr.flush()
                os._exit(status)
        for fd in fds:
            os.close(fd)
        pidfd = os.pidfd_open(pid)  # before any reaping: it names this worker, never a reused pid
        try:
            socket.send_fds(control, [str(pid).encode()], [pidfd])
        finally:
            os.close(pidfd)
        _reap(block=False)
    _reap(block=True)


def _reap(block: bool) -> None:
    """Wait for the zygote's workers that have ended (all of them, with ``block``), so that their
    CPU time counts in the run's."""
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class WorkerProcess:
    """The ``grader grade`` process's handle on one worker process: forked by ``zygote`` when
    there is one, else started afresh."""

    def __init__(self, index: int, needs: list[tuple[str, ...]], zygote: Zygote | None = None):
        self.index = index
        self.log = tempfile.TemporaryFile()
        self.process: subprocess.Popen | None = None
        if zygote is not None:
            try:
                self.pidfd, self.socket = zygote.fork(index, needs, self.log.fileno())
                self.stdin = self.socket.makefile("wb", buffering=0)
                self.stdout = self.socket.makefile("rb", buffering=0)
            except OSError:
                zygote = None
        if zygote is None:
            cmd = [sys.executable, "-m", "grader.grading.pool", "--index", str(index),
                   "--needs", json.dumps([list(n) for n in needs])]
            self.process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                            bufsize=0, env=_env())
            self.stdin, self.stdout = self.process.stdin, self.process.stdout
        self.outstanding: dict[str, tuple[Submission, str, int]] = {}
        """student -> (submission, fingerprint, tries) sent and not finished yet"""
        self.cpu = {}

    def configure(self, plan_data: bytes, feedback_options: dict, pictures: str) -> None:
        settings = {"feedback_options": feedback_options, "pictures": pictures}
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

    def stderr_tail(self) -> str:
        self.log.seek(0)
        lines = self.log.read().decode("utf-8", "replace").strip().splitlines()
        status = self.process.poll() if self.process is not None else "unknown (a zygote's worker)"
        return " / ".join(lines[-3:]) or f"exit status {status}"

    def close(self) -> None:
        if self.process is not None:
            end(self.process, timeout=30)
        else:  # the zygote's child: end of input asks it to finish, as ``end`` does
            self.stdin.close()
            try:
                self.socket.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            if not select.select([self.pidfd], [], [], 30)[0]:  # readable once it has ended
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            os.close(self.pidfd)
            self.socket.close()
        self.stdout.close()
        self.log.close()


def grade_local(todo: list[Submission], plan_source, needs: list[tuple[str, ...]], *, workers: int,
                fingerprints: dict[str, str], finish: Callable[[Finished], None], started: Callable[[], None],
                usage: dict, feedback_options: dict) -> Plan:
    """Grade ``todo`` with ``workers`` worker processes on this machine; ``finish`` gets each result.

    ``plan_source.result()`` gives the plan (the worker processes and their fork servers start
    while it is computed). Adds to ``usage`` the CPU seconds by kind of process. Returns the plan.

    Raises:
        RuntimeError: a worker process could not start (a grader fault).
    """
    count = max(1, min(workers, len(todo)))
    # Not for one worker, and not as an ordinary user: the sandbox's children then run as that
    # user too, and a process limit counts every process of the user, so the zygote would take
    # one process from every submission's allowance.
    zygote = Zygote(feedback_options.get("pictures", True)) if count > 1 and os.geteuid() == 0 else None
    pool = [WorkerProcess(i, needs, zygote) for i in range(count)]
    shared = tempfile.TemporaryDirectory(prefix="grader-pictures-")  # private (0700): the workers' pictures
    try:
        plan = plan_source.result()
        data = codec.encode(plan.to_plain())
        for proc in pool:
            proc.configure(data, feedback_options, shared.name)
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
                    fresh = WorkerProcess(proc.index, needs, zygote)
                    fresh.configure(data, feedback_options, shared.name)
                    fresh.ready()
                    pool[pool.index(proc)] = fresh
                    selector.register(fresh.stdout, selectors.EVENT_READ, fresh)
                    top_up(fresh)
                    continue
                finish(done)
                top_up(proc)
        for cpu in retired_cpu + [proc.cpu for proc in pool]:
            for kind, seconds in cpu.items():
                usage[kind] = usage.get(kind, 0.0) + seconds
        if zygote is not None:  # what its workers did not pay for themselves
            usage["grading workers"] = usage.get("grading workers", 0.0) + zygote.cpu()
        return plan
    finally:
        for proc in pool:
            proc.close()
        if zygote is not None:
            zygote.close()
        shared.cleanup()


def serve(needs: list[tuple[str, ...]], index: int, stdin, stdout) -> None:
    """A worker process: the plan first, then batches of submissions; one reply per finished one."""
    from grader import pictures
    from grader.grading.worker import Worker

    worker = Worker(needs, index=index)  # the fork servers start while the plan is computed
    try:
        header = read_frame(stdin)
        data = read_frame(stdin)
        if header is None or data is None:
            return
        settings = json.loads(header)
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
        ended = False
        while True:
            while not ended:
                try:
                    message = incoming.get(block=not worker.busy)
                except queue.Empty:
                    break
                if message is None:
                    ended = True
                    break
                for item in message["items"]:
                    worker.add(*_submission(item))
            if not worker.busy:
                if ended:
                    return
                continue
            for done in worker.step():
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
    args = parser.parse_args(argv)
    if args.zygote is not None:
        return zygote(args.zygote, pictures=not args.no_pictures)
    serve([tuple(n) for n in json.loads(args.needs)], args.index, sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
