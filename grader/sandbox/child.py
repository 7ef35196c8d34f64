"""One forked child grading one submission, read frame by frame under per-stage deadlines."""
from __future__ import annotations

import math
import os
import select
import time

from grader.sandbox import runner
from grader.sandbox.frames import HEADER, FrameReader
from grader.sandbox.jail import Jail
from grader.sandbox.processes import cpu_seconds, kill, killpg

MAX_RESULT_BYTES = 64 * 2**20
"""the most one function's results may take"""
PIPE_BYTES = 64 * 2**10
"""what a pipe holds (Linux's default); the most one read of a child's pipe can return"""


class Child:
    """A forked child running one job, read frame by frame under per-stage deadlines."""

    def __init__(self, job: dict, workdir: str, jail: Jail):
        read_fd, write_fd = os.pipe()
        # the go-ahead for each function travels on a pipe of its own, with the correct callees
        # of a function that calls others: the child grades nothing the server has not checked
        # its predecessor for (processes left running), and sees a callee only when its caller is next
        control_r, self.control_w = os.pipe()
        jail.before_fork(runner.limits_of(job))
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            os.close(self.control_w)
            runner.child_main(job, write_fd, workdir, jail, control_r)
        jail.forked(pid)
        os.close(write_fd)
        os.close(control_r)
        os.set_blocking(self.control_w, False)
        self._watch(pid, read_fd)

    @classmethod
    def adopt(cls, pid: int, read_fd: int) -> "Child":
        """Watch a child forked elsewhere that writes its frames to ``read_fd`` (it gets no go-aheads)."""
        child = cls.__new__(cls)
        child.control_w = os.open(os.devnull, os.O_WRONLY)  # ``finish`` closes it like a real pipe
        child._watch(pid, read_fd)
        return child

    def _watch(self, pid: int, read_fd: int) -> None:
        self.pid, self.fd = pid, read_fd
        self.pidfd = os.pidfd_open(pid)
        try:
            self.stat_fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            self.stat_fd = -1
        self.poller = select.poll()
        self.poller.register(read_fd, select.POLLIN)
        self.poller.register(self.pidfd, select.POLLIN)
        self.reader = FrameReader(MAX_RESULT_BYTES)
        self.eof = False
        self.exited = False
        self.wait_status: int | None = None
        self.left = 0
        """processes it had left running when last checked (``Jail.leftovers``)"""

    def next(self, timeout: float) -> tuple[bytes | None, str]:
        """The next frame and ``"ok"``, or None and ``"timeout"``, ``"crashed"`` or ``"too_big"``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                frame = self.reader.next()
            except OverflowError:
                return None, "too_big"
            if frame is not None:
                return frame, "ok"
            if self.exited:
                return None, "crashed"
            left = deadline - time.monotonic()
            if left <= 0:
                return None, "timeout"
            for fd, _ in self.poller.poll(math.ceil(left * 1000)):
                if fd == self.fd and not self.eof:
                    self._read()
                elif fd == self.pidfd:
                    # whatever the child wrote is in the pipe now; a process it left behind
                    # may still hold the pipe open, so don't wait for end-of-file
                    self.poller.unregister(self.pidfd)
                    os.set_blocking(self.fd, False)
                    while not self.eof and self._read():
                        pass
                    self.exited = True
            if self.reader.pending() > self.reader.max_size:
                return None, "too_big"

    def go(self, spec: dict) -> None:
        """Let the child grade ``spec``: an empty frame, or the file of its correct callees.

        ``sendfile`` copies that file to the pipe, kernel to kernel, without it ever entering
        this server's memory, which every later child would inherit. A child that stopped
        reading just won't get it (and times out waiting, if it is still alive).
        """
        try:
            if not spec.get("inject_file"):
                os.write(self.control_w, HEADER.pack(0))
                return
            fd = os.open(spec["inject_file"], os.O_RDONLY | os.O_CLOEXEC)  # no file object: 3 calls, not 6
            try:
                size = os.fstat(fd).st_size
                os.write(self.control_w, HEADER.pack(size))
                sent = 0
                while sent < size:
                    sent += os.sendfile(self.control_w, fd, sent, size - sent)
            finally:
                os.close(fd)
        except (BlockingIOError, BrokenPipeError):
            pass

    def _read(self) -> bool:
        try:
            # a pipe holds 64 KiB: asking for more only makes ``os.read`` map, shrink and unmap a
            # buffer of that size each time (three system calls and fresh pages, per stage)
            chunk = os.read(self.fd, PIPE_BYTES)
        except BlockingIOError:
            return False
        if not chunk:
            self.eof = True
            self.poller.unregister(self.fd)
            return False
        self.reader.feed(chunk)
        return True

    def finish(self) -> int:
        """Kill the child and its process group, reap it; returns its wait status."""
        killpg(self.pid)
        kill(self.pid)
        _, self.wait_status = os.waitpid(self.pid, 0)
        for fd in (self.fd, self.pidfd, self.control_w, self.stat_fd):
            if fd >= 0:
                os.close(fd)
        return self.wait_status

    def cpu(self) -> float:
        """CPU seconds the child has used so far (``/proc``, in clock ticks), 0 once it is gone:
        each stage's share of its CPU, for the benchmarks (``rusage`` counts it only at exit)."""
        try:
            return cpu_seconds(os.pread(self.stat_fd, 1024, 0))
        except (OSError, IndexError, ValueError):
            return 0.0
