"""Small process helpers the fork server, its ``Child`` and their clients share: signals, exit
statuses and stopping a helper process."""
from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # not at run time: the fork server must not import threading (see ``end``)
    import subprocess

    from grader.sandbox.zygote import Forked


def tmp() -> str:
    """The folder for temporary folders: ``TMPDIR`` if it can be written, else the first of
    ``/tmp``, ``/var/tmp``, … that can, as Python's ``tempfile`` chooses (imported here, not with
    the module: the fork server imports it before forking anyway, ``server.STDLIB_PRELOAD``)."""
    import tempfile

    return tempfile.gettempdir()


def set_name(title: str) -> None:
    """Name this process ``title`` (at most 15 bytes) in ``top``, ``ps -o comm`` and ``perf``,
    where a grading run would otherwise show a dozen processes all called ``python``: its
    ``comm``, written through ``/proc`` (one file, where ``prctl(PR_SET_NAME)`` needs ctypes).
    Best effort: a ``/proc`` that cannot be written leaves the name as it was."""
    try:
        fd = os.open("/proc/self/comm", os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.write(fd, title.encode()[:15])
    except OSError:
        pass
    finally:
        os.close(fd)


def last_lines(fd: int, limit: int | None = None) -> list[str]:
    """The lines a helper process wrote to the file ``fd`` (its error output), or those of its
    last ``limit`` bytes: read in place (``pread``), as the writer shares the file's offset."""
    size = os.fstat(fd).st_size
    start = 0 if limit is None else max(0, size - limit)
    return os.pread(fd, size - start, start).decode("utf-8", "replace").strip().splitlines()


def read_small(path: str) -> bytes:
    """A small kernel file's bytes (``/proc``, a cgroup's): read after every stage of every child,
    so with three system calls rather than a file object's seven."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        parts = []
        while chunk := os.read(fd, 4096):
            parts.append(chunk)
        return b"".join(parts)
    finally:
        os.close(fd)


def cpu_seconds(stat: bytes) -> float:
    """The CPU seconds (user + system) in a ``/proc/<pid>/stat`` text: its fields 14 and 15, in
    clock ticks, counted after the command name, which may itself hold spaces and parentheses.

    Raises:
        IndexError, ValueError: not a stat line.
    """
    fields = stat.rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


_TICKS = os.sysconf("SC_CLK_TCK")


def reap_ended(block: bool) -> None:
    """Wait for this process's children that have ended (for all of them, with ``block``)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def end(process: subprocess.Popen | Forked, timeout: float) -> None:
    """Stop a helper that serves requests on its stdin (started afresh, or a zygote's child):
    closing stdin asks it to finish; after ``timeout`` seconds it is killed (one that has
    already exited is just reaped).

    ``subprocess`` is imported here, not with this module: it imports ``threading``, and in a
    fork server that has imported ``threading`` every child runs its fork hook (a fraction of a
    millisecond of copied pages each).
    """
    import subprocess

    try:
        process.stdin.close()
    except OSError:
        pass
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def describe_exit(wait_status: int) -> str:
    """How a child ended, in words a student can act on."""
    if os.WIFSIGNALED(wait_status):
        sig = os.WTERMSIG(wait_status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        reason = {"SIGXCPU": "used up its CPU time", "SIGKILL": "was killed (CPU or memory limit)",
                  "SIGSEGV": "crashed (segmentation fault)", "SIGXFSZ": "wrote too much output"}
        return f"the process {reason.get(name, 'was stopped by ' + name)}"
    return f"the process exited with status {os.WEXITSTATUS(wait_status)} before returning its results"
