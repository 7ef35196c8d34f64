"""The parent's handle on a fork server: send a request, get the child's decoded result."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

from course import codec
from grader.quiet import QUIET_ENV
from grader.sandbox.server import read_frame, write_frame

DEFAULT_LIMITS = {"memory": 2 * 2**30, "output": 1 * 2**20, "processes": 16}
HEAVY_LIMITS = {"keras": {"memory": 8 * 2**30, "output": 1 * 2**20, "processes": 64}}
"""limits for a child that runs Keras: TensorFlow maps ~1.5 GB of address space at import and
starts a pool of threads (each counts as a process for the sandbox user) on its first operation"""
ALLOW = {"keras": ("keras", "tensorflow")}
"""the modules a child may import when an exercise ``needs`` a heavy library"""


def limits_for(needs: tuple[str, ...]) -> dict:
    """The child's limits for an exercise that needs these heavy libraries (none: the defaults)."""
    limits = dict(DEFAULT_LIMITS)
    for name in needs:
        for key, value in HEAVY_LIMITS[name].items():
            limits[key] = max(limits[key], value)
    return limits


def allowed_imports(needs: tuple[str, ...]) -> list[str]:
    return [module for name in needs for module in ALLOW[name]]


def server_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
    env.update(QUIET_ENV)
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg",
               PYTHONDONTWRITEBYTECODE="1")
    return env


class Sandbox:
    """One fork server process; ``run`` is blocking and thread-safe (one request at a time)."""

    def __init__(self, *, worker: int = 0, python: str = sys.executable, preload: tuple[str, ...] = ()):
        """``worker`` is kept for callers; the server claims a sandbox uid of its own (see jail)."""
        cmd = [python, "-m", "grader.sandbox.server"]
        if os.geteuid() == 0:
            cmd += ["--uid", "1"]  # "drop privileges": the jail picks a free uid for this server
        for name in preload:  # e.g. "keras": a server whose children may use Keras
            cmd += ["--preload", name]
        self.process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, env=server_env())
        self.lock = threading.Lock()

    def run(self, request: dict) -> dict:
        """Run one request; returns the server's reply with ``result`` decoded (or an error)."""
        request = {"limits": DEFAULT_LIMITS, **request}
        with self.lock:
            write_frame(self.process.stdin, codec.encode(request))
            frame = read_frame(self.process.stdout)
        if frame is None:
            raise RuntimeError("the sandbox server stopped unexpectedly")
        reply = codec.decode(frame)
        raw = reply.get("result")
        reply["result"] = None
        if reply.get("status") == "ok":
            try:
                reply["result"] = codec.decode(raw.tobytes())
            except codec.CodecError as e:
                reply.update(status="unreadable", detail=f"its results could not be read: {e}")
        return reply

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
