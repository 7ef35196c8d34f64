"""A seccomp deny-list for sandboxed children: the kernel calls no graded function needs.

``Filter.build()`` runs once in the fork server: it compiles the rules below with libseccomp
(``libseccomp.so.2``, called through ``ctypes``) into a classic BPF program for this machine's
architecture. ``Filter.enter()`` runs last in each child (after rlimits, Landlock and the uid
drop): one ``prctl(PR_SET_SECCOMP)`` with the ready program, which needs ``no_new_privs`` but
not root. The filter is inherited by everything the child starts and can never be removed.

Denied with EPERM (Python raises ``PermissionError``, a message a student can read, never a
crash):
namespaces (``unshare``, ``setns``, namespace flags on ``clone``; ``clone3`` answers ENOSYS,
since its flags sit in memory a filter cannot read, and libc then falls back to ``clone``, so
thread pools still start), other processes (``ptrace``, ``process_vm_readv``/``writev``,
``pidfd_getfd``, ``kcmp``), kernel interfaces the other protections never see (``io_uring_*``,
``bpf``, ``perf_event_open``, ``userfaultfd``, file handles), keyrings (not namespaced: a
channel between submissions), mounts (old and new API), ``chroot``, ``pivot_root``, modules,
``kexec``, ``reboot``, swap, clock setters, ``ioctl(TIOCSTI / TIOCLINUX)`` (typing into a
terminal), ``personality`` (but its query) and every socket family but ``AF_UNIX`` (no TCP, UDP,
raw, netlink, ``AF_ALG`` or ``AF_VSOCK``, root or not). A call of a foreign architecture (e.g.
``int 0x80`` on x86-64) or the x32 ABI kills the process: it could only be an attempt to reach
a system call under a number the deny-list does not know.

Why libseccomp rather than hand-written BPF: it is the library Docker, systemd, Flatpak and
isolate use; it knows each architecture's system call numbers and the x32/compat traps, so the
rules stay names. It is called through ``ctypes`` (a dozen lines) rather than PyPI's
``pyseccomp`` (a ``ctypes`` binding too, unreleased since 2021) or the Cython binding that
ships with libseccomp's source (not on PyPI). Without the library there is no filter, and
``Jail.active`` says so.
"""
from __future__ import annotations

import ctypes
import errno
import os
import struct
from dataclasses import dataclass

SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_FLTATR_ACT_BADARCH, SCMP_FLTATR_CTL_NNP, SCMP_FLTATR_CTL_OPTIMIZE = 2, 3, 8
SCMP_CMP_LT, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ = 2, 6, 7
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2

AF_UNIX = 1
TIOCSTI, TIOCLINUX = 0x5412, 0x541C
PERSONALITY_QUERY = 0xFFFFFFFF
NAMESPACE_FLAGS = {"CLONE_NEWNS": 0x20000, "CLONE_NEWCGROUP": 0x02000000, "CLONE_NEWUTS": 0x04000000,
                   "CLONE_NEWIPC": 0x08000000, "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
                   "CLONE_NEWNET": 0x40000000}
"""clone's namespace flags (CLONE_NEWTIME exists only for unshare and clone3, both denied: in
clone's flags its bit is part of the exit signal)"""

DENIED = (
    # namespaces: the kernel's largest attack surface for privilege escalation
    "unshare", "setns",
    # other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
    # kernel interfaces the other protections do not see
    "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "perf_event_open", "userfaultfd",
    "name_to_handle_at", "open_by_handle_at", "fanotify_init", "lookup_dcookie",
    # keyrings: shared by every process of a uid, across submissions
    "add_key", "request_key", "keyctl",
    # the filesystem tree
    "mount", "umount2", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
    "mount_setattr", "pivot_root", "chroot", "quotactl", "quotactl_fd", "acct",
    # the machine
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
    "swapon", "swapoff", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "syslog",
    "sethostname", "setdomainname", "iopl", "ioperm", "vhangup", "uselib",
)
"""answered EPERM (the filter's whole rule for each); names this libseccomp does not know on
this architecture are skipped (e.g. ``iopl`` outside x86)"""


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


@dataclass(frozen=True)
class Rule:
    """One deny rule: ``syscall`` answers ``errno`` when every comparison holds (none: always).

    ``compare`` holds ``(argument index, op, a, b)`` as libseccomp's ``scmp_arg_cmp``.
    """

    syscall: str
    errno: int = errno.EPERM
    compare: tuple[tuple[int, int, int, int], ...] = ()


def rules() -> list[Rule]:
    """The whole deny-list (see the module docstring)."""
    out = [Rule(name) for name in DENIED]
    out.append(Rule("clone3", errno.ENOSYS))
    # flags are clone's first argument on x86-64 and arm64 (s390 swaps the first two)
    out += [Rule("clone", compare=((0, SCMP_CMP_MASKED_EQ, flag, flag),)) for flag in NAMESPACE_FLAGS.values()]
    for request in (TIOCSTI, TIOCLINUX):  # the request is an unsigned int: compare its low half
        out.append(Rule("ioctl", compare=((1, SCMP_CMP_MASKED_EQ, 0xFFFFFFFF, request),)))
    for call in ("socket", "socketpair"):  # any family but AF_UNIX, as "below or above 1"
        out += [Rule(call, compare=((0, op, AF_UNIX, 0),)) for op in (SCMP_CMP_LT, SCMP_CMP_GT)]
    out += [Rule("personality", compare=((0, op, PERSONALITY_QUERY, 0),)) for op in (SCMP_CMP_LT, SCMP_CMP_GT)]
    return out


def _library():
    try:  # the library's stable name first: ``find_library`` runs ``ldconfig`` in a subprocess, and
        # importing ``subprocess`` imports ``threading``, whose fork hook every child would then run
        lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    except OSError:
        from ctypes import util

        lib = ctypes.CDLL(util.find_library("seccomp") or "libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_exact_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                                 ctypes.c_uint, ctypes.POINTER(_ArgCmp)]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return lib


def _errno_action(value: int) -> int:
    return 0x00050000 | (value & 0xFFFF)  # SCMP_ACT_ERRNO(value)


def compile_filter() -> tuple[bytes, list[str]]:
    """The deny-list as classic BPF for this architecture, and the rules' syscalls it left out.

    Raises:
        OSError: libseccomp is missing or refused a rule.
    """
    lib = _library()
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not ctx:
        raise OSError(errno.ENOMEM, "seccomp_init failed")
    try:
        lib.seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)
        lib.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)  # the jail sets no_new_privs itself
        lib.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)  # a binary tree: fewer checks per call
        unknown = []
        for rule in rules():
            nr = lib.seccomp_syscall_resolve_name(rule.syscall.encode())
            if nr < 0:
                unknown.append(rule.syscall)
                continue
            args = (_ArgCmp * max(len(rule.compare), 1))(*[_ArgCmp(*c) for c in rule.compare])
            result = lib.seccomp_rule_add_exact_array(ctx, _errno_action(rule.errno), nr, len(rule.compare), args)
            if result < 0:
                raise OSError(-result, f"seccomp rule for {rule.syscall}: {os.strerror(-result)}")
        read_fd, write_fd = os.pipe()
        try:
            result = lib.seccomp_export_bpf(ctx, write_fd)
            os.close(write_fd)
            write_fd = -1
            if result < 0:
                raise OSError(-result, f"seccomp_export_bpf: {os.strerror(-result)}")
            program = b""
            while chunk := os.read(read_fd, 1 << 16):
                program += chunk
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
        return program, sorted(set(unknown))
    finally:
        lib.seccomp_release(ctx)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class Filter:
    """A compiled deny-list, ready to be entered by each child with one ``prctl``."""

    def __init__(self, program: bytes, skipped: list[str] = ()):
        if not program or len(program) % 8:
            raise ValueError(f"a BPF program is a whole number of 8-byte instructions, not {len(program)} bytes")
        self.program, self.skipped = program, list(skipped)
        # built here, in the server, so a child's enter touches no new Python objects
        self._buffer = ctypes.create_string_buffer(program, len(program))
        self._fprog = _SockFprog(len(program) // 8, ctypes.addressof(self._buffer))
        self._prctl = ctypes.CDLL(None, use_errno=True).prctl

    @classmethod
    def build(cls) -> "Filter | None":
        """The deny-list for this machine, or None when libseccomp or seccomp is unavailable."""
        try:
            return cls(*compile_filter())
        except (OSError, AttributeError, ValueError):
            return None

    @property
    def instructions(self) -> int:
        return len(self.program) // 8

    def enter(self) -> None:
        """Confine the calling thread and everything it starts, for good (needs no_new_privs).

        Raises:
            OSError: the kernel refused the filter (the child must then not run student code).
        """
        if self._prctl(PR_SET_SECCOMP, ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(self._fprog),
                       ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"seccomp filter: {os.strerror(err)}")


def mode(pid: int | str = "self") -> int:
    """A process's seccomp mode from /proc (0 none, 1 strict, 2 filter; -1 unknown)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"Seccomp:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return -1


def disassemble(program: bytes) -> list[tuple[int, int, int, int]]:
    """The program's instructions as (code, jt, jf, k), for tests and curious readers."""
    return [struct.unpack_from("=HBBI", program, i) for i in range(0, len(program), 8)]
