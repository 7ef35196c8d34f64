"""Processes forked from a warm zygote rather than started afresh, and the handle on one.

A Python process that imports NumPy spends a tenth of a second of CPU before it does any work,
and a run pays that once per process: for a grading worker and a fork server per core, as much
as grading hundreds of submissions on a 16-core machine. A zygote pays it once per run. It
imports what its children need, freezes its heap, then forks a child per request (``serve``)
and does nothing else: it holds no plan, no answers and no submission, so its children are what
processes started afresh are.

A request (``fork``) is one datagram on a ``SOCK_SEQPACKET`` socket: JSON for the child, a
socket to answer on (so several processes may share a zygote), and the child's standard input,
output and, optionally, error (``socket.send_fds``). The answer carries a pidfd for the child,
opened before the zygote could reap it, so its requester never signals a reused pid.

Nothing here imports ``threading`` (nor ``subprocess``, which does): the fork servers' zygote
runs this, and in a process that has imported ``threading`` every child runs its fork hook.
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import traceback
from typing import Callable

from grader.sandbox.processes import cpu_seconds, read_small, reap_ended


class Zygote:
    """A zygote process, started as ``command`` followed by its end of the control socket.

    Args:
        command: e.g. ``[sys.executable, "-m", "grader.sandbox.server", "--zygote"]``.
        env: its environment, which its children inherit.
        pass_fds: more descriptors it keeps, which its children inherit.

    Its own output goes nowhere: each child gets its files with its request.
    """

    def __init__(self, command: list[str], *, env: dict, pass_fds: tuple[int, ...] = ()):
        import subprocess

        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process = subprocess.Popen(
            [*command, str(theirs.fileno())], pass_fds=(theirs.fileno(), *pass_fds), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        theirs.close()

    @property
    def fd(self) -> int:
        """The control socket: for ``fork``, here or in a process that inherits it."""
        return self.control.fileno()

    def fork(self, request: dict, *, stderr: int | None = None) -> Forked:
        return fork(self.fd, request, stderr=stderr)

    def cpu(self) -> float:
        """The CPU seconds the zygote itself has used (its imports), 0 if it can't be read."""
        try:
            return cpu_seconds(read_small(f"/proc/{self.process.pid}/stat"))
        except (OSError, IndexError, ValueError):
            return 0.0

    def close(self) -> None:
        """End of requests (once every process sharing the socket has closed it too): the zygote
        waits for its children, then exits; killed after 30 s."""
        import subprocess

        self.control.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Forked:
    """What ``processes.end`` and the clients need of a ``Popen``, for a zygote's child.

    It is held by a pidfd, which names this process even after its pid is reused. Its exit
    status goes to the zygote, which reaps it.
    """

    def __init__(self, pid: int, pidfd: int, stdin, stdout):
        self.pid, self.pidfd, self.stdin, self.stdout = pid, pidfd, stdin, stdout

    def wait(self, timeout: float | None = None) -> None:
        """Wait until it has ended.

        Raises:
            subprocess.TimeoutExpired: it is still running after ``timeout`` seconds.
        """
        if self.pidfd >= 0 and not select.select([self.pidfd], [], [], timeout)[0]:
            import subprocess

            raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
        self._release()

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def send_signal(self, sig: int) -> None:
        if self.pidfd >= 0:
            try:
                signal.pidfd_send_signal(self.pidfd, sig)
            except ProcessLookupError:
                pass

    def _release(self) -> None:
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1


def fork(control: int, request: dict, *, stderr: int | None = None) -> Forked:
    """A new child of the zygote on ``control`` (a descriptor), given ``request``; its standard
    input and output are pipes from and to this process, its error output ``stderr`` (or the
    zygote's).

    Raises:
        OSError: the zygote has stopped (start the process afresh instead).
    """
    down_r, down_w = os.pipe()
    up_r, up_w = os.pipe()
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        fds = [theirs.fileno(), down_r, up_w, *(() if stderr is None else (stderr,))]
        with socket.socket(fileno=os.dup(control)) as ask:  # ``control`` stays open for the next request
            socket.send_fds(ask, [json.dumps(request).encode()], fds)
        theirs.close()
        message, got, _, _ = socket.recv_fds(mine, 64, 1)
    except OSError:
        os.close(down_w)
        os.close(up_r)
        raise
    finally:
        theirs.close()
        mine.close()
        os.close(down_r)
        os.close(up_w)
    if not got:
        os.close(down_w)
        os.close(up_r)
        raise OSError("the zygote has stopped")
    return Forked(int(message), got[0], os.fdopen(down_w, "wb", buffering=0), os.fdopen(up_r, "rb", buffering=0))


def serve(control_fd: int, child: Callable[[dict], None]) -> None:
    """The zygote's life, once it has imported what its children need: for each request, fork
    a child that runs ``child(request)`` with the request's files as its standard input, output
    (and error), then exits. Returns when every requester has closed the control socket."""
    control = socket.socket(fileno=control_fd)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 1 << 16, 4)
        except OSError:
            message, fds = b"", []
        if not message or len(fds) < 3:
            for fd in fds:
                os.close(fd)
            if not message:
                break
            continue
        answer, given = socket.socket(fileno=fds[0]), fds[1:]
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                control.close()
                answer.close()
                sys.stdout.flush()  # anything the zygote's own files held goes to its /dev/null
                sys.stderr.flush()
                for target, fd in enumerate(given):
                    os.dup2(fd, target)
                    os.close(fd)
                child(json.loads(message))
                status = 0
            except SystemExit as e:  # e.g. a fork server's SIGTERM handler
                status = 0 if e.code is None else e.code if isinstance(e.code, int) else 1
            except BaseException:
                traceback.print_exc()  # to the child's error output (a worker's log)
            finally:
                for stream in (sys.stdout, sys.stderr):  # os._exit flushes nothing
                    try:
                        stream.flush()
                    except (OSError, ValueError):
                        pass
                os._exit(status)
        for fd in given:
            os.close(fd)
        try:
            pidfd = os.pidfd_open(pid)  # before any reaping: it names this child, never a reused pid
            try:
                socket.send_fds(answer, [str(pid).encode()], [pidfd])
            finally:
                os.close(pidfd)
        except OSError:  # the requester has gone; the child sees its input end
            pass
        finally:
            answer.close()
        reap_ended(block=False)
    reap_ended(block=True)
