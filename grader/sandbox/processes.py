"""Small process helpers the fork server and its ``Child`` share: signals and exit statuses."""
from __future__ import annotations

import os
import signal


def tmp() -> str:
    return os.environ.get("TMPDIR") or "/tmp"


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


def describe_exit(wait_status: int) -> str:
    """How a child ended, in words a student can act on."""
    if os.WIFSIGNALED(wait_status):
        sig = os.WTERMSIG(wait_status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        reason = {"SIGXCPU": "used up its CPU time", "SIGKILL": "was killed (CPU or memory limit)",
                  "SIGSEGV": "crashed (segmentation fault)", "SIGXFSZ": "wrote too much output"}
        return f"the process {reason.get(name, 'was stopped by ' + name)}"
    return f"the process exited with status {os.WEXITSTATUS(wait_status)} before returning its results"
