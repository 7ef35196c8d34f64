"""Processes a fork server manages: a sandbox uid of its own, and nothing left running.

A server claims a uid no other server on the machine uses (children of different servers must
not be able to signal each other), adopts whatever its children leave behind (it is a child
subreaper) and kills it after each submission; ``describe_exit`` says how a child ended.
"""
from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import stat
import threading
import time
from pathlib import Path

SANDBOX_UID_BASE = 62000  # claimed one per server; the old fixed 61000 + worker scheme stays free for --uid
UID_SLOTS = 1000
PR_SET_CHILD_SUBREAPER = 36


def tmp() -> str:
    return os.environ.get("TMPDIR") or "/tmp"


def claim_uid(base: int = SANDBOX_UID_BASE) -> tuple[int, int]:
    """A sandbox uid no other server on this machine is using, and the lock fd that holds it.

    Children of different servers must not share a uid: a submission may signal every
    process of its own uid.

    Raises:
        RuntimeError: all ``UID_SLOTS`` uids are taken.
    """
    folder = Path(tmp()) / "grader-sandbox-uids"
    folder.mkdir(mode=0o700, exist_ok=True)
    st = folder.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise RuntimeError(f"{folder} is not a folder only the grader's user can change")
    for uid in range(base, base + UID_SLOTS):
        fd = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return uid, fd
        except BlockingIOError:
            os.close(fd)
    raise RuntimeError(f"no free sandbox uid in {base}..{base + UID_SLOTS - 1}")


def become_subreaper() -> bool:
    """Adopt orphaned descendants (Linux), so nothing a child starts can outlive its grading."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def children() -> set[int]:
    """This process's child pids (Linux ``/proc``; empty where unavailable)."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/children", "rb") as f:
            return {int(p) for p in f.read().split()}
    except OSError:
        return set()


CAN_LIST_CHILDREN = os.path.exists(f"/proc/self/task/{threading.get_native_id()}/children")


def kill_leftovers(keep: set[int] = frozenset()) -> int:
    """SIGKILL and reap every child of this server but ``keep``; returns how many there were."""
    killed = 0
    for _ in range(100):  # a process killed here hands its own children to us: repeat
        pids = children() - keep
        if not pids:
            break
        for pid in pids:
            kill(pid)
        for pid in pids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        killed += len(pids)
    return killed


def kill_user_processes(uid: int) -> None:
    """SIGKILL every process owned by ``uid`` (a slow /proc scan; for use outside the hot path)."""
    for _ in range(3):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    os.kill(int(entry), signal.SIGKILL)
                    found = True
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
        if not found:
            return
        time.sleep(0.01)


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
    if os.WIFSIGNALED(wait_status):
        sig = os.WTERMSIG(wait_status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        reason = {"SIGXCPU": "used up its CPU time", "SIGKILL": "was killed (CPU or memory limit)",
                  "SIGSEGV": "crashed (segmentation fault)", "SIGXFSZ": "wrote too much output"}
        return f"the process {reason.get(name, 'was stopped by ' + name)}"
    return f"the process exited with status {os.WEXITSTATUS(wait_status)} before returning its results"
