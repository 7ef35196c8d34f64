"""Tests for ``grader.sandbox.seccomp``, the way bubblewrap tests its filter: a table of denied
system calls, each called in a forked child that entered the filter, must fail with the errno
the filter answers; the same calls without the filter must not (so the table can fail); and
what honest code needs (fork, threads, NumPy's thread pool, AF_UNIX sockets) still works.

Arguments are chosen so that every call is harmless even where no filter stands in the way
(invalid pointers, descriptors and flags): the unfiltered run must never reboot anything.
"""
from __future__ import annotations

import ctypes
import errno
import json
import mmap
import os
import platform
import signal
import time

import pytest

from grader.sandbox import seccomp

pytestmark = pytest.mark.skipif(seccomp.Filter.build() is None, reason="no libseccomp or seccomp here")
x86_64 = pytest.mark.skipif(platform.machine() != "x86_64", reason="system call numbers of x86-64")

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
BAD = 8  # a non-null pointer the kernel cannot read: EFAULT where it is looked at
CLONE_NEWUSER, CLONE_NEWNET, CLONE_PTRACE, SIGCHLD = 0x10000000, 0x40000000, 0x2000, 17
NO_PID = 2**22 + 12345  # above pid_max: no such process

# (name, x86-64 number, arguments, errno with the filter)
TABLE = [
    ("unshare", 272, (CLONE_NEWUSER | CLONE_PTRACE,), errno.EPERM),  # EINVAL if it ever got through
    ("setns", 308, (-1, 0), errno.EPERM),
    ("clone(CLONE_NEWUSER)", 56, (CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0), errno.EPERM),
    ("clone(CLONE_NEWNET)", 56, (CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0), errno.EPERM),
    ("clone3", 435, (BAD, 88), errno.ENOSYS),
    ("ptrace", 101, (16, NO_PID, 0, 0), errno.EPERM),  # PTRACE_ATTACH
    ("process_vm_readv", 310, (NO_PID, BAD, 1, BAD, 1, 0), errno.EPERM),
    ("process_vm_writev", 311, (NO_PID, BAD, 1, BAD, 1, 0), errno.EPERM),
    ("pidfd_getfd", 438, (-1, 0, 0), errno.EPERM),
    ("kcmp", 312, (NO_PID, NO_PID, 99, 0, 0), errno.EPERM),
    ("io_uring_setup", 425, (0, BAD), errno.EPERM),
    ("io_uring_enter", 426, (-1, 0, 0, 0, 0, 0), errno.EPERM),
    ("io_uring_register", 427, (-1, 0, 0, 0), errno.EPERM),
    ("bpf", 321, (-1, BAD, 0), errno.EPERM),
    ("perf_event_open", 298, (BAD, 0, -1, -1, 0), errno.EPERM),
    ("userfaultfd", 323, (-1,), errno.EPERM),
    ("name_to_handle_at", 303, (-1, BAD, BAD, BAD, 0), errno.EPERM),
    ("open_by_handle_at", 304, (-1, BAD, 0), errno.EPERM),
    ("add_key", 248, (BAD, BAD, 0, 0, -4), errno.EPERM),
    ("request_key", 249, (BAD, BAD, 0, -4), errno.EPERM),
    ("keyctl", 250, (0, -4, 0), errno.EPERM),  # KEYCTL_GET_KEYRING_ID of the user keyring
    ("mount", 165, (BAD, BAD, BAD, 0, 0), errno.EPERM),
    ("umount2", 166, (BAD, 0), errno.EPERM),
    ("fsopen", 430, (BAD, 0), errno.EPERM),
    ("fsconfig", 431, (-1, 0, 0, 0, 0), errno.EPERM),
    ("fsmount", 432, (-1, 0, 0), errno.EPERM),
    ("fspick", 433, (-1, BAD, 0), errno.EPERM),
    ("move_mount", 429, (-1, BAD, -1, BAD, 0), errno.EPERM),
    ("open_tree", 428, (-1, BAD, 0), errno.EPERM),
    ("mount_setattr", 442, (-1, BAD, 0, BAD, 0), errno.EPERM),
    ("pivot_root", 155, (BAD, BAD), errno.EPERM),
    ("chroot", 161, (BAD,), errno.EPERM),
    ("kexec_load", 246, (0, 0, 0, 0xDEAD0000), errno.EPERM),
    ("kexec_file_load", 320, (-1, -1, 0, 0, 0xDEAD0000), errno.EPERM),
    ("init_module", 175, (BAD, 0, BAD), errno.EPERM),
    ("finit_module", 313, (-1, BAD, 0), errno.EPERM),
    ("delete_module", 176, (BAD, 0), errno.EPERM),
    ("reboot", 169, (0, 0, 0, 0), errno.EPERM),  # wrong magic numbers: EINVAL even for root
    ("swapon", 167, (BAD, 0), errno.EPERM),
    ("swapoff", 168, (BAD,), errno.EPERM),
    ("settimeofday", 164, (BAD, 0), errno.EPERM),
    ("clock_settime", 227, (-1, BAD), errno.EPERM),
    ("clock_adjtime", 305, (-1, BAD), errno.EPERM),
    ("adjtimex", 159, (BAD,), errno.EPERM),
    ("socket(AF_INET, SOCK_DGRAM)", 41, (2, 2, 0), errno.EPERM),
    ("socket(AF_INET6)", 41, (10, 1, 0), errno.EPERM),
    ("socket(AF_NETLINK)", 41, (16, 3, 0), errno.EPERM),
    ("socket(AF_PACKET)", 41, (17, 3, 0), errno.EPERM),
    ("socket(AF_ALG)", 41, (38, 5, 0), errno.EPERM),
    ("socket(AF_VSOCK)", 41, (40, 1, 0), errno.EPERM),
    ("socket(AF_UNSPEC)", 41, (0, 1, 0), errno.EPERM),
    ("socketpair(AF_INET)", 53, (2, 1, 0, BAD), errno.EPERM),
    ("personality(ADDR_NO_RANDOMIZE)", 135, (0x0040000,), errno.EPERM),
]
TTY_IOCTLS = [("ioctl(TIOCSTI)", 0x5412), ("ioctl(TIOCLINUX)", 0x541C), ("ioctl(TIOCSTI) + high bits", 0x1_0000_5412)]


def in_child(job, timeout: float = 60.0) -> tuple[dict | None, int]:
    """Run ``job()`` in a forked child; returns (its JSON result or None, its wait status)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            result = job()
        except BaseException as e:
            result = {"error": f"{type(e).__name__}: {e}"}
        os.write(write_fd, json.dumps(result).encode())
        os._exit(0)
    os.close(write_fd)
    data, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline and (chunk := os.read(read_fd, 1 << 16)):
        data += chunk
    os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    return (json.loads(data) if data else None), status


def entered() -> None:
    """Enter the filter as the jail does: no_new_privs first, and check that it is in force."""
    libc.prctl(38, ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))
    seccomp.Filter.build().enter()
    assert seccomp.mode() == 2, "the filter is not in force"


def call_table() -> dict:
    answers = {}
    for name, nr, args, _ in TABLE:
        ctypes.set_errno(0)
        result = libc.syscall(ctypes.c_long(nr), *map(ctypes.c_long, args))
        if result == 0 and nr == 56:  # an unfiltered clone made a child: let it go
            os._exit(0)
        answers[name] = ctypes.get_errno() if result == -1 else f"returned {result}"
    read_fd, _ = os.pipe()  # a descriptor that is no terminal
    char = ctypes.c_char(b"x")
    for name, request in TTY_IOCTLS:
        ctypes.set_errno(0)
        result = libc.syscall(ctypes.c_long(16), ctypes.c_long(read_fd), ctypes.c_long(request), ctypes.byref(char))
        answers[name] = ctypes.get_errno() if result == -1 else f"returned {result}"
    return answers


@x86_64
@pytest.mark.parametrize("as_root", [True, False], ids=["root", "not-root"])
def test_every_denied_call_fails_with_the_filters_errno(as_root):
    if as_root and os.geteuid() != 0:
        pytest.skip("needs root")

    def job():
        if not as_root and os.geteuid() == 0:  # the filter needs only no_new_privs, not root
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
        entered()
        return call_table()
    answers, status = in_child(job)
    assert os.WIFEXITED(status) and answers and "error" not in answers, (status, answers)
    expected = {name: err for name, _, _, err in TABLE} | {name: errno.EPERM for name, _ in TTY_IOCTLS}
    wrong = {name: (errno.errorcode.get(got, got), errno.errorcode[expected[name]])
             for name, got in answers.items() if got != expected[name]}
    assert not wrong, f"(got, expected): {wrong}"


@x86_64
def test_without_the_filter_the_same_calls_answer_otherwise():
    """The table can fail: unfiltered, (almost) no call gives the filter's answer."""
    answers, status = in_child(call_table)
    assert answers and "error" not in answers, (status, answers)
    expected = {name: err for name, _, _, err in TABLE} | {name: errno.EPERM for name, _ in TTY_IOCTLS}
    same = sorted(name for name, got in answers.items() if got == expected[name])
    if os.geteuid() == 0:  # root may do all of it, so each refusal comes from the filter alone
        assert same == [], same
    else:  # unprivileged, the kernel itself refuses some (mount, reboot...) with EPERM
        assert len(same) < len(answers) // 2, same
    assert answers["ioctl(TIOCSTI)"] == errno.ENOTTY  # a pipe is no terminal: only the filter says EPERM


def test_honest_work_still_runs_under_the_filter():
    def job():
        import socket
        import threading

        import numpy as np

        entered()
        out = {}
        pid = os.fork()  # clone without namespace flags
        if pid == 0:
            os._exit(7)
        out["fork"] = os.WEXITSTATUS(os.waitpid(pid, 0)[1])
        results = []
        threads = [threading.Thread(target=lambda: results.append(1)) for _ in range(8)]  # clone3 -> clone
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        out["threads"] = len(results)
        a = np.random.default_rng(0).standard_normal((400, 400))
        out["matmul"] = bool(np.allclose(a @ np.linalg.inv(a), np.eye(400), atol=1e-6))  # BLAS's own threads
        left, right = socket.socketpair(socket.AF_UNIX)
        left.sendall(b"ok")
        out["unix"] = right.recv(2).decode()
        out["personality query"] = libc.personality(ctypes.c_ulong(0xFFFFFFFF))
        read_fd, _ = os.pipe()
        out["ioctl FIONREAD"] = libc.ioctl(read_fd, 0x541B, ctypes.byref(ctypes.c_int()))
        return out

    out, status = in_child(job)
    assert out == {"fork": 7, "threads": 8, "matmul": True, "unix": "ok", "personality query": 0,
                   "ioctl FIONREAD": 0}, (status, out)


@x86_64
def test_an_x32_call_kills_the_process():
    def job():
        entered()
        libc.syscall(ctypes.c_long(0x40000000 | 39))  # getpid through the x32 ABI
        return {"survived": True}
    out, status = in_child(job)
    assert out is None and os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS, (out, status)


@x86_64
def test_a_32_bit_call_through_int_0x80_kills_the_process():
    # mov eax, 20 (getpid of i386); int 0x80; ret
    code = bytes([0xB8, 20, 0, 0, 0, 0xCD, 0x80, 0xC3])

    def job():
        page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        page.write(code)
        address = ctypes.addressof(ctypes.c_char.from_buffer(page))
        getpid32 = ctypes.CFUNCTYPE(ctypes.c_int)(address)
        assert getpid32() == os.getpid()  # unfiltered, the 32-bit call works (so only the filter kills)
        entered()
        getpid32()
        return {"survived": True}
    out, status = in_child(job)
    assert out is None and os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS, (out, status)


def test_the_program_checks_the_architecture_first():
    program = seccomp.disassemble(seccomp.Filter.build().program)
    assert program[0] == (0x20, 0, 0, 4)  # load seccomp_data.arch
    assert program[1][0] == 0x15  # compare it with this architecture's, else kill
