"""The fork server: a warm NumPy process that runs each request in a fresh, limited child.

Started by ``grader.sandbox.client`` as ``python -m grader.sandbox.server [--uid N] [--preload keras]``.
It never imports any reference answer, so a child forked from it has nothing to find; it imports
TensorFlow only with ``--preload keras``, for exercises that need Keras (A4's ``build_model``).
It reads length-prefixed ``course.codec`` frames on stdin and answers each with one frame on
stdout: ``{"status": "ok" | "timeout" | "crashed", "detail": str, "result": bytes, "output": str}``.
"""
from __future__ import annotations

import argparse
import importlib
import os
import select
import shutil
import signal
import stat
import struct
import sys
import tempfile
import time

import numpy as np

from course import codec
from grader.sandbox import runner
from grader.sandbox.jail import Jail

HEADER = struct.Struct(">Q")
KERAS_PACKAGES = ("tensorflow", "keras", "tf_keras", "tensorboard")
STDLIB_PRELOAD = ("math", "cmath", "random", "itertools", "functools", "collections", "statistics", "time",
                  "copy", "operator", "typing", "dataclasses", "heapq", "bisect", "string", "re", "json",
                  "fractions", "decimal", "numbers", "secrets", "glob", "warnings", "enum", "abc")
MAX_RESULT_BYTES = 64 * 2**20
OUTPUT_TAIL = 2000


def preload() -> None:
    """Import what submissions commonly import, once, so children start warm."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401
    except Exception:
        pass
    from course import data  # noqa: F401  (the loader, not the checks)

    # The sandbox user may be unable to read the standard library (a Python under a 0700 home,
    # or hidden by Landlock), so import here what honest submissions commonly import, and what
    # NumPy imports only on first use (default_rng imports `secrets`).
    for name in STDLIB_PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    np.random.default_rng(0)


def preload_keras() -> None:
    """Import TensorFlow and Keras, without starting TensorFlow's runtime, so children start warm.

    Forking is safe only while this process has a single thread: TensorFlow starts its thread
    pools on the first operation, which must therefore happen in each child, never here (a
    child forked after it would hang). ``handle`` checks before every fork.
    """
    from grader.quiet import keras

    keras(initialize=False)
    from course import data, models  # noqa: F401  (the adapters the children call)

    data.load_mnist()  # read once here; children share the pages


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


def read_frame(stream) -> bytes | None:
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    return stream.read(size)


def write_frame(stream, payload: bytes) -> None:
    stream.write(HEADER.pack(len(payload)) + payload)
    stream.flush()


def collect(pid: int, fd: int, timeout: float) -> tuple[bytes, str, int]:
    """Read the child's result until EOF or the deadline; returns (bytes, status, wait status)."""
    deadline = time.monotonic() + timeout
    chunks, size, status = [], 0, "ok"
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            status = "timeout"
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        size += len(chunk)
        if size > MAX_RESULT_BYTES:
            status = "too_big"
            break
        chunks.append(chunk)
    os.close(fd)
    if status != "ok":
        _killpg(pid)
    _, wait_status = _wait(pid, deadline + 1.0)
    return b"".join(chunks), status, wait_status


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _wait(pid: int, deadline: float) -> tuple[int, int]:
    while True:
        done, wait_status = os.waitpid(pid, os.WNOHANG)
        if done:
            return done, wait_status
        if time.monotonic() > deadline:
            _killpg(pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return os.waitpid(pid, 0)
        time.sleep(0.001)


def describe_exit(wait_status: int) -> str:
    if os.WIFSIGNALED(wait_status):
        sig = os.WTERMSIG(wait_status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        reason = {"SIGXCPU": "used up its CPU time", "SIGKILL": "was killed (CPU or memory limit)",
                  "SIGSEGV": "crashed (segmentation fault)", "SIGXFSZ": "wrote too much output"}
        return f"the process {reason.get(name, 'was stopped by ' + name)}"
    return f"the process exited with status {os.WEXITSTATUS(wait_status)} before returning its results"


def handle(request: dict, *, jail: Jail, base: str, single_threaded: bool = False) -> dict:
    if single_threaded and threads() != 1:
        raise RuntimeError(f"this process has {threads()} threads; forking it now could hang the child")
    workdir = tempfile.mkdtemp(prefix="sub-", dir=base)
    if jail.uid is not None:
        os.chown(workdir, jail.uid, jail.uid)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        runner.child_main(request, write_fd, workdir, jail)
    os.close(write_fd)
    data, status, wait_status = collect(pid, read_fd, float(request["timeout"]))
    left = jail.reap(pid)
    output = _tail(os.path.join(workdir, "output.txt"))
    shutil.rmtree(workdir, ignore_errors=True)
    if status == "ok" and not (data and os.WIFEXITED(wait_status) and os.WEXITSTATUS(wait_status) == 0):
        status = "crashed"
    if status == "ok" and left:
        status = "left_running"
    detail = {"ok": "", "timeout": f"took longer than {request['timeout']:g} s",
              "too_big": f"returned more than {MAX_RESULT_BYTES // 2**20} MB of data",
              "left_running": f"left {left} process{'es' if left > 1 else ''} running after it returned "
                              "(they were stopped); a graded function must not start background processes",
              "crashed": describe_exit(wait_status)}[status]
    return {"status": status, "detail": detail, "result": np.frombuffer(data, dtype=np.uint8), "output": output}


def _tail(path: str) -> str:
    """The end of the child's output file; never follows a link the child put in its place."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return ""
        with open(fd, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - OUTPUT_TAIL))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--uid", type=int, default=None, help="when root and nonzero, run children as a uid claimed for this server alone")
    parser.add_argument("--preload", choices=["keras"], action="append", default=[],
                        help="also import this heavy library once, for exercises that need it")
    args = parser.parse_args(argv)
    preload()
    if "keras" in args.preload:
        preload_keras()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but frames may reach the parent's pipe
    base = tempfile.mkdtemp(prefix="grader-sandbox-")
    os.chmod(base, 0o711)
    reveal = KERAS_PACKAGES if "keras" in args.preload else ()  # that server's exercises need them
    jail = Jail.for_server(uid=args.uid, base=base, reveal=reveal)
    try:
        while (frame := read_frame(stdin)) is not None:
            try:
                reply = handle(codec.decode(frame), jail=jail, base=base, single_threaded=bool(args.preload))
            except Exception as e:  # a grader bug, reported rather than hanging the parent
                reply = {"status": "error", "detail": f"sandbox error: {type(e).__name__}: {e}",
                         "result": np.zeros(0, np.uint8), "output": ""}
            write_frame(stdout, codec.encode(reply))
    finally:
        jail.close()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
