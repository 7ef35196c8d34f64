"""Confine untrusted children of a fork server, and sweep up whatever they leave running.

``Jail.for_server(uid=..., base=...)`` runs once in the fork server, before any child exists:
  - a new network namespace (root only): children inherit a world with no network at all;
  - a new mount namespace with a size-limited tmpfs on ``base`` (root only), so the children's
    working directories cannot fill the disk;
  - ``PR_SET_CHILD_SUBREAPER``, so processes a child orphans (double fork + setsid) become the
    server's children, to be killed and reaped rather than adopted by init;
  - a Landlock ruleset (Linux >= 5.13, root or not): read-only access to the system, Python and
    the student-side ``course`` package, read-write access to ``base`` only, no program execution,
    no TCP, and (Landlock ABI >= 6) no signals or abstract sockets outside the child's own
    processes. Hidden: the ``grader`` package, ``solutions/``, the repository's ``.git``,
    ``course/exercises`` (hints), ``course/fixtures`` (public answers), TensorFlow/Keras, other
    students' folders, the grader's output folder and ``/proc``.
The read-only trees are where the modules really are, wherever the project is installed
(``reach.readable_roots``); when the sandbox uid cannot reach one (a private folder above it),
children keep ``CAP_DAC_READ_SEARCH`` alone under Landlock, and without Landlock a server whose
sandbox uid cannot read what children need refuses to start (see ``grader.sandbox.reach``).
``Jail.enter(limits)`` runs in each child after it has read its submission: rlimits, no new
privileges, the Landlock domain, the drop to the worker's uid, a scrubbed environment, every
inherited file descriptor but the ones it needs closed, and last a seccomp deny-list
(``grader.sandbox.seccomp``); first of all, where the server could make a cgroup, the child moves
into a leaf of its own that caps the memory and processes of everything it starts, together
(``grader.sandbox.cgroup``). ``Jail.reap()`` runs in the server after
the child has ended: it kills every process the child left behind and says how many there were.

What the OS does not allow is skipped; ``Jail.active`` names what is in force. Deployment note:
without Landlock (Linux < 5.13, or disabled at boot) the filesystem allow-list is missing, so run
the grader as root (children then run as uids of ``UID_POOL``) and keep ``solutions/``, the
submissions and the output folder unreadable to other users (e.g. ``chmod o-rwx``). Without
libseccomp there is no system call filter (user namespaces, ptrace, io_uring, keyrings and UDP
stay open); without a cgroup (not root, or no memory and pids controllers) memory is capped per
process only (``RLIMIT_AS``; ``RLIMIT_NPROC`` bounds how many). ``Jail.missing()`` says which.
"""
from __future__ import annotations

import ctypes
import errno
import os
import resource
import signal
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.sandbox import cgroup, reach, seccomp
from grader.sandbox.processes import kill, killpg, read_small

# Linux constants (include/uapi/linux/{sched,prctl,mount,landlock}.h); the Landlock syscall
# numbers are the same on every architecture.
CLONE_NEWNS, CLONE_NEWNET = 0x00020000, 0x40000000
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 36, 38
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE, MNT_DETACH = 2, 4, 8, 16384, 1 << 18, 2
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_CREATE_RULESET_VERSION, LANDLOCK_RULE_PATH_BENEATH = 1, 1
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1, 2, 4, 8
FS_TRUNCATE, FS_IOCTL_DEV = 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2
FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV

MAX_FD = 1 << 20
UID_POOL = range(61000, 61000 + 4096)
"""uids the sandbox may run children as; each server claims one nobody else uses (see claim_uid)"""
WORKDIR_TMPFS_SIZE = "256m"
"""all of one server's working directories together, so a disk-filling child hits ENOSPC early"""
SYSTEM_ROOTS = reach.SYSTEM_ROOTS
HIDDEN_PACKAGES = ("grader", "tensorflow", "keras", "tf_keras", "tensorboard", "jax", "torch")
HIDDEN_COURSE_PARTS = ("exercises", "fixtures")
KEPT_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "MPLBACKEND", "OMP_NUM_THREADS",
                    "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "PYTHONDONTWRITEBYTECODE")

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


@dataclass(frozen=True)
class Limits:
    """Per-child resource limits (each enforced by the kernel as an rlimit)."""

    cpu_seconds: int
    memory_bytes: int
    """address space, so a memory bomb gets MemoryError instead of swapping the machine"""
    output_bytes: int
    """largest file the child may write (stdout/stderr go to one)"""
    processes: int
    """processes of the sandbox uid at once (a fork bomb hits EAGAIN)"""
    open_files: int = 64


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def _prctl(option: int, arg: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), f"prctl({option})")


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, or 0 when Landlock is unavailable."""
    result = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                           ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    return max(int(result), 0)


def hidden_paths(reveal: tuple[str, ...] = ()) -> list[str]:
    """What a child must not read: answers, solutions, hints, TensorFlow and the instructor's code.

    Args:
        reveal: packages of ``HIDDEN_PACKAGES`` to leave readable, e.g. TensorFlow and Keras for
            the children of a server that grades an exercise which genuinely needs them.
    """
    import importlib.util

    packages = tuple(p for p in HIDDEN_PACKAGES if p not in reveal)
    hidden = []
    for name in packages:
        module = sys.modules.get(name)
        try:
            locations = list(module.__path__) if module else list(
                importlib.util.find_spec(name).submodule_search_locations or [])
        except (ImportError, AttributeError, ValueError, TypeError):
            locations = []
        hidden += locations
    import course

    for course_dir in course.__path__:
        hidden += [os.path.join(course_dir, part) for part in HIDDEN_COURSE_PARTS]
    for grader_dir in [h for h in hidden if os.path.basename(h) == "grader"]:
        repo = Path(grader_dir).parent
        hidden += [str(repo / "solutions"), str(repo / "tests")]
        hidden += _git_dirs(repo / ".git")
    for site_dir in {os.path.dirname(h) for h in hidden}:  # tensorflow's sibling libraries
        try:
            hidden += [e.path for e in os.scandir(site_dir) if e.name.startswith(packages[1:])]
        except OSError:
            pass
    return sorted({os.path.realpath(h) for h in hidden if os.path.lexists(h)})


def _git_dirs(dot_git: Path) -> list[str]:
    """A checkout's ``.git``, and for a worktree the shared repository it points to."""
    if dot_git.is_dir():
        return [str(dot_git)]
    try:
        pointer = dot_git.read_text().strip()
    except OSError:
        return []
    if not pointer.startswith("gitdir:"):
        return []
    gitdir = (dot_git.parent / pointer.split(":", 1)[1].strip()).resolve()
    common = gitdir / "commondir"
    shared = (gitdir / common.read_text().strip()).resolve() if common.is_file() else gitdir
    return [str(dot_git), str(gitdir), str(shared)]


_WALKED: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
"""``allowed_subtrees`` walked ahead (``walk_ahead``), by its arguments"""
_PRIVATE: list[list[str]] = []
"""``reach.private_entries()`` as ``walk_ahead`` found it"""


def walk_ahead(modules: tuple[str, ...]) -> None:
    """Walk the folders a NumPy-only fork server's children may read (``modules``: what they
    may import), as that server's Landlock ruleset will, in the zygote that forks such servers
    (``grader.sandbox.zygote``). Each server then finds the walk done, which was most of its
    start-up once NumPy came imported: about 0.1 s of CPU. A server whose arguments differ (its
    imports, what it reveals, the files its uid can't read) walks them itself. The files other
    users may not read (``reach.private_entries``) are found here once too: a server started
    afresh looks for them when it starts, and so, in effect, do these servers, forked as the
    run starts."""
    roots = reach.readable_roots(modules)
    hidden = hidden_paths()
    if os.geteuid() == 0:
        _PRIVATE[:] = [reach.private_entries()]
    for more in ([], *_PRIVATE):
        _WALKED[(tuple(roots), (*hidden, *more))] = allowed_subtrees(roots, [*hidden, *more])


def _allowed(roots: list[str], hidden: list[str]) -> list[str]:
    walked = _WALKED.get((tuple(roots), tuple(hidden)))
    return list(walked) if walked is not None else allowed_subtrees(roots, hidden)


def _private_entries() -> list[str]:
    return list(_PRIVATE[0]) if _PRIVATE else reach.private_entries()


def allowed_subtrees(roots, hidden) -> list[str]:
    """Directories and files that together cover ``roots`` except the ``hidden`` subtrees."""
    hidden = [os.path.realpath(h) for h in hidden]
    out: list[str] = []

    def contains(parent, child):
        return child == parent or child.startswith(parent.rstrip("/") + "/")

    def visit(path, depth):
        real = os.path.realpath(path)
        if any(contains(h, real) for h in hidden):
            return  # hidden, or a link into something hidden
        if not any(contains(real, h) for h in hidden):
            out.append(real)
            return
        if depth > 12:
            return
        try:
            entries = list(os.scandir(real))
        except OSError:
            return
        for entry in entries:
            visit(entry.path, depth + 1)

    for root in roots:
        if os.path.exists(root):
            visit(root, 0)
    return sorted(set(out))


@dataclass
class Jail:
    """One fork server's confinement of its children; see the module docstring."""

    uid: int | None = None
    """the worker's uid when the server runs as root, else None (children keep the server's uid)"""
    base: str = ""
    """the folder holding the children's working directories (the only writable place)"""
    ruleset_fd: int = -1
    """the Landlock ruleset each child enters, or -1 without Landlock"""
    active: list[str] = field(default_factory=list)
    """the protections in force, e.g. ["uid 61000", "network namespace", "landlock abi 6"]"""
    mounted: bool = False
    uid_lock: int = -1
    """an flock held on the uid's lock file while this server lives"""
    environment_for: str = ""
    """the working directory this process's environment is already scrubbed for (see
    ``prepare_environment``), so ``enter`` need not do it in every child"""
    original_environment: dict | None = None
    filter: seccomp.Filter | None = None
    """the seccomp deny-list each child enters last, or None (no libseccomp)"""
    cgroups: cgroup.Cgroups | None = None
    """the server's cgroup, in which each child makes its own capped leaf, or None"""
    read_search: bool = False
    """children keep ``CAP_DAC_READ_SEARCH`` after the uid drop (only under Landlock; see ``reach``)"""

    @classmethod
    def for_server(cls, *, uid: int | None, base: str, allow_network: bool = False,
                   landlock: bool = True, reveal: tuple[str, ...] = (), modules: tuple[str, ...] = (),
                   syscall_filter: bool = True, cgroups: bool = True) -> "Jail":
        """Set up the calling server process (see the module docstring).

        Args:
            uid: when truthy and the server is root, children drop to a uid claimed for this
                server alone from ``UID_POOL`` (the value itself is not used: two grading runs
                on one machine must never share a uid).
            base: the folder for the children's working directories.
            allow_network: keep the network (no namespace, no Landlock TCP rules).
            landlock: use Landlock when the kernel has it (tests turn it off to see the rest).
            reveal: hidden packages the children may read after all (see ``hidden_paths``).
            syscall_filter: build the seccomp deny-list (``grader.sandbox.seccomp``).
            cgroups: give each child a capped cgroup where one can be made (``grader.sandbox.cgroup``).
            modules: what children may import besides what this process has imported (e.g. the
                server's lazy modules); their folders become readable (``reach.readable_roots``).

        Raises:
            OSError: root, but no sandbox uid is free. SandboxSetupError (an OSError): without
                Landlock, the sandbox uid cannot read what children need (``reach.check_readable``).
                Anything else the OS refuses is skipped.
        """
        root = os.geteuid() == 0
        jail = cls(base=os.path.realpath(base))
        if root and uid:
            jail.uid, jail.uid_lock = claim_uid()
            jail.active.append(f"uid {jail.uid}")
        if root and not allow_network and _unshare(CLONE_NEWNET):
            jail.active.append("network namespace")
        if root and jail._mount_workdirs():
            jail.active.append(f"workdir tmpfs {WORKDIR_TMPFS_SIZE}")
        if jail.subreaper():
            jail.active.append("subreaper")
        abi = landlock_abi() if landlock else 0
        if abi:
            jail._confine_reads(abi, allow_network, reveal, modules)
        if jail.uid is not None and jail.ruleset_fd < 0:
            jail.close()
            reach.check_readable(jail.uid, (*modules, *reveal))
        jail._add_filter_and_cgroups(syscall_filter, cgroups)
        return jail

    def _confine_reads(self, abi: int, allow_network: bool, reveal: tuple[str, ...], modules: tuple[str, ...]) -> None:
        """The Landlock ruleset; as root, ``read_search`` when the sandbox uid can't reach a root."""
        roots = reach.readable_roots((*modules, *reveal))
        if reveal:  # TensorFlow's runtime reads /proc and /sys (CPU count, memory) when it starts
            roots += ["/proc", "/sys"]
        read_search = self.uid is not None and bool(reach.unreachable(self.uid, roots))
        try:
            self.ruleset_fd = _landlock_ruleset(abi, self.base, allow_network, reveal, roots,
                                                _private_entries() if read_search else ())
        except OSError:
            self.ruleset_fd = -1
            return
        self.active.append(f"landlock abi {abi}")
        if read_search:
            self.read_search = True
            self.active.append("read-search capability")

    def _add_filter_and_cgroups(self, syscall_filter: bool, cgroups: bool) -> None:
        """The seccomp deny-list and the server's cgroup, each where this machine allows it."""
        self.filter = seccomp.Filter.build() if syscall_filter else None
        if self.filter:
            self.active.append(f"seccomp filter ({self.filter.instructions} instructions)")
        self.cgroups = cgroup.Cgroups.create(f"digits-grader-{os.getpid()}") if cgroups else None
        if self.cgroups:
            self.active.append(self.cgroups.describe())

    def missing(self) -> list[str]:
        """The protections this machine could not put in force, in words (empty when none)."""
        out = []
        if self.filter is None:
            out.append("no seccomp filter (libseccomp or seccomp unavailable): user namespaces, ptrace, "
                       "io_uring, keyrings and UDP stay open")
        if self.cgroups is None:
            out.append("no cgroup (needs root and cgroup v1 or v2 memory and pids): memory is capped per "
                       "process only")
        if self.ruleset_fd < 0:
            out.append("no Landlock: no filesystem allow-list")
        return out

    def _mount_workdirs(self) -> bool:
        if not _unshare(CLONE_NEWNS):
            return False
        try:
            _mount(None, "/", None, MS_REC | MS_PRIVATE)  # our mounts stay ours
            _mount("tmpfs", self.base, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                   f"size={WORKDIR_TMPFS_SIZE},mode=0711")
            self.mounted = True
        except OSError:
            return False
        return True

    def enter(self, limits: Limits, *, workdir: str, keep_fds: tuple[int, ...] = (), server: int | None = None) -> None:
        """Confine the calling child for good (call after reading the submission, as root).

        In order: rlimits, no_new_privs, the Landlock domain, the uid drop (when root), death
        with the server, an environment of ``KEPT_ENVIRONMENT`` with ``HOME``/``TMPDIR`` set to
        ``workdir``, and every descriptor closed but 0, 1, 2 and ``keep_fds``. With ``server``
        (its pid), a child whose server is already gone exits at once.

        First of all, as root and before Landlock closes ``/sys``, the child moves into a cgroup
        leaf of its own (``cgroups``); last of all, it enters the seccomp ``filter``.

        Raises:
            OSError: the uid could not be dropped, or the cgroup or the filter refused (the child
                must then not run student code).
        """
        if self.cgroups is not None:
            self.cgroups.join(limits.memory_bytes, limits.processes)
        set_limits(limits)
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        if self.ruleset_fd >= 0:
            _check(_libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(self.ruleset_fd),
                                 ctypes.c_uint32(0)), "landlock_restrict_self")
        if self.uid is not None:
            if self.read_search:  # Landlock is in force (``_confine_reads``)
                reach.keep_capabilities()
            drop_privileges(self.uid)
            if self.read_search:
                reach.read_search_only()
        die_with(server)  # after setuid, which clears the death signal
        if self.environment_for != workdir:
            scrub_environment(workdir)
        close_fds(keep=(0, 1, 2, *keep_fds))
        if self.filter is not None:
            self.filter.enter()  # last: everything above may use calls the filter denies

    def before_fork(self, limits: Limits) -> None:
        """Get the next child's cgroup leaf ready (server side; ``cgroup.Cgroups.prepare``)."""
        if self.cgroups is not None:
            self.cgroups.prepare(limits.memory_bytes, limits.processes)

    def forked(self, pid: int) -> None:
        """Note that child ``pid`` was forked after ``before_fork`` (server side)."""
        if self.cgroups is not None:
            self.cgroups.forked(pid)

    def prepare_environment(self, workdir: str) -> None:
        """Scrub the server's own environment for children working in ``workdir``, once.

        Every child then inherits it, instead of rewriting its own: in a forked child each
        touched object costs a copy-on-write page fault, about half a millisecond here.
        """
        if self.original_environment is None:
            self.original_environment = dict(os.environ)
        scrub_environment(workdir)
        self.environment_for = workdir

    def restore_environment(self) -> None:
        """Give this process back the environment it had before ``prepare_environment``."""
        if self.original_environment is not None:
            os.environ.clear()
            os.environ.update(self.original_environment)
        self.environment_for = ""

    def reap(self, pgid: int | None = None, *, keep: set[int] = frozenset(), timeout: float = 2.0) -> int:
        """Kill what the last child left running; returns how many live processes there were.

        Call it after the child itself has been waited for, with its process group. Every
        process the child started is then a descendant of this server, which adopts orphans as
        subreaper (a double fork + setsid does not escape), so its children are the survivors:
        they and their descendants are killed, and as root so is every process of the worker's
        uid (one atomic ``kill(-1)`` as that uid). Assumes one child at a time per server;
        ``keep`` names children that belong to the server itself (its zygote). The child's
        cgroup leaf, if any, is killed as a whole and removed first.
        """
        if self.cgroups is not None and pgid:
            self.cgroups.remove(pgid)  # the child's pid: it leads its own process group
        _reap_zombies(keep)
        survivors = _live_children() - keep
        if not survivors:
            return 0  # the usual case costs two small reads of /proc
        doomed = _live(_descendants(survivors))
        count = len(doomed)
        deadline = time.monotonic() + timeout
        while doomed and time.monotonic() < deadline:
            if pgid:
                killpg(pgid)
            self._kill_uid()
            for pid in doomed:
                kill(pid)
            time.sleep(0.0005)
            _reap_zombies(keep)
            # a killed process is gone only once it is a zombie, and until then its orphans may
            # still be on their way to us: wait for both, so the next child starts with none
            doomed = _live(doomed | _descendants(_live_children() - keep))
        return count

    def memory_exceeded(self, child: int) -> int | None:
        """The memory cap in MB if the OOM killer has stopped a process of ``child``'s cgroup leaf
        (the child, or a process it started), else None; read before ``reap`` removes the leaf."""
        if self.cgroups is None or not self.cgroups.oom_kills(child):
            return None
        return (self.cgroups.memory_limit(child) or 0) // 2**20

    def leftovers(self, child: int, *, keep: set[int] = frozenset()) -> int:
        """How many live processes a child that is still running has started (its descendants,
        and orphans the server adopted); checked after each function it grades, so the usual
        answer (none) costs one small read of its cgroup leaf, or two of /proc."""
        if self.cgroups is not None and self.uid is not None and self.cgroups.processes(child) == [child]:
            return 0  # whatever it started is in its leaf, which a child of another uid cannot leave
        found = (_children(child) | _children()) - keep - {child}
        return len(_live(_descendants(found))) if found else 0

    @staticmethod
    def subreaper() -> bool:
        """Make the calling process adopt its descendants' orphans (not inherited by ``fork``)."""
        try:
            _prctl(PR_SET_CHILD_SUBREAPER, 1)
            return True
        except OSError:
            return False

    def _kill_uid(self) -> None:
        """SIGKILL every process of the worker's uid: ``kill(-1)`` as that uid, atomic, so a fork
        bomb cannot outrun it, and it reaches nothing else."""
        if not self.uid or os.geteuid() != 0:
            return
        os.setresuid(self.uid, self.uid, 0)  # the saved uid 0 lets us come back
        try:
            if os.geteuid() == self.uid:  # never kill(-1) as root
                os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        finally:
            os.setresuid(0, 0, 0)

    def close(self) -> None:
        """Undo ``for_server``'s mount so the server can remove ``base``, and remove its cgroup."""
        if self.cgroups is not None:
            self.cgroups.close()
            self.cgroups = None
        if self.mounted:
            try:
                _check(_libc.umount2(self.base.encode(), MNT_DETACH), "umount")
            except OSError:
                pass
            self.mounted = False
        for fd in (self.ruleset_fd, self.uid_lock):
            if fd >= 0:
                os.close(fd)
        self.ruleset_fd = self.uid_lock = -1


def claim_uid(pool: range = UID_POOL) -> tuple[int, int]:
    """A uid of ``pool`` that no other server holds and no process runs as; returns (uid, lock fd).

    Each server needs a uid of its own: the sweep after a child kills every process of that uid,
    which must never reach another worker's or another grading run's children. The claim is an
    flock on a root-owned lock file, held (with the returned descriptor) for the server's life.

    Raises:
        OSError: every uid of the pool is taken.
    """
    import fcntl
    import random

    lock_dir = Path("/run/lock" if os.access("/run/lock", os.W_OK) else "/tmp") / "digits-grader-uids"
    lock_dir.mkdir(mode=0o700, exist_ok=True)
    busy = {real_uid(int(e)) for e in os.listdir("/proc") if e.isdigit()}
    start = random.randrange(len(pool))
    for i in range(len(pool)):
        uid = pool[(start + i) % len(pool)]
        if uid in busy:
            continue
        fd = os.open(lock_dir / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return uid, fd
    raise OSError(errno.EAGAIN, f"no free sandbox uid in {pool.start}..{pool.stop - 1}")


def die_with(parent: int | None = None) -> None:
    """Be killed when the parent process dies (Linux); if ``parent`` (its pid) is already gone,
    exit now, since the death signal would never come."""
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        return
    if parent is not None and os.getppid() != parent:
        os._exit(71)


def set_limits(limits: Limits) -> None:
    """Apply ``limits`` as rlimits; a limit this OS or user can't lower is skipped."""
    values = {
        resource.RLIMIT_CPU: (limits.cpu_seconds, limits.cpu_seconds + 1),
        resource.RLIMIT_AS: (limits.memory_bytes, limits.memory_bytes),
        resource.RLIMIT_FSIZE: (limits.output_bytes, limits.output_bytes),
        resource.RLIMIT_NOFILE: (limits.open_files, limits.open_files),
        resource.RLIMIT_CORE: (0, 0),
        resource.RLIMIT_NPROC: (limits.processes, limits.processes),
    }
    for which, value in values.items():
        try:
            resource.setrlimit(which, value)
        except (ValueError, OSError):
            pass  # the wall-clock timeout and the sweep still apply


def drop_privileges(uid: int) -> None:
    """Become ``uid`` for good (group too, no supplementary groups).

    Raises:
        OSError: the uid did not change, so the caller must not go on.
    """
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid):
        raise OSError(errno.EPERM, f"could not drop privileges to uid {uid}")


def scrub_environment(workdir: str) -> None:
    """Forget the grader's environment (tokens, paths): keep only what NumPy code needs."""
    kept = {k: os.environ[k] for k in KEPT_ENVIRONMENT if k in os.environ}
    os.environ.clear()
    os.environ.update(kept, HOME=workdir, TMPDIR=workdir, MPLCONFIGDIR=workdir)
    import tempfile

    tempfile.tempdir = workdir


def close_fds(keep: tuple[int, ...]) -> None:
    """Close every inherited descriptor except ``keep`` (the server's pipes, the ruleset...)."""
    low = 0
    for fd in sorted(set(keep)):
        if fd > low:  # closerange(n, n) would close everything from n on (close_range(n, -1))
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, MAX_FD)


def _unshare(flags: int) -> bool:
    return _libc.unshare(ctypes.c_int(flags)) == 0


def _mount(source, target, fstype, flags, data=None) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), "mount")


def _landlock_ruleset(abi: int, base: str, allow_network: bool, reveal: tuple[str, ...], roots: list[str],
                      hidden: tuple[str, ...] | list[str] = ()) -> int:
    """A ruleset: read ``roots`` (minus ``hidden_paths`` and ``hidden``), write ``base``, nothing else."""
    fs = (1 << 13) - 1
    fs |= (1 << 13) if abi >= 2 else 0  # REFER
    fs |= FS_TRUNCATE if abi >= 3 else 0
    fs |= FS_IOCTL_DEV if abi >= 5 else 0
    net = (NET_BIND_TCP | NET_CONNECT_TCP) if abi >= 4 and not allow_network else 0
    scoped = (SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0
    attr = struct.pack("=QQQ", fs, net, scoped)[: 24 if abi >= 6 else 16 if abi >= 4 else 8]
    buf = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _check(_libc.syscall(SYS_LANDLOCK_CREATE_RULESET, buf, ctypes.c_size_t(len(attr)),
                                   ctypes.c_uint32(0)), "landlock_create_ruleset")
    read = FS_READ_FILE | FS_READ_DIR
    rules = [(path, read) for path in _allowed(roots, [*hidden_paths(reveal), *hidden])]
    rules += [("/dev/null", FS_READ_FILE | FS_WRITE_FILE | (FS_TRUNCATE if abi >= 3 else 0)),
              ("/dev/zero", FS_READ_FILE), ("/dev/urandom", FS_READ_FILE), ("/dev/random", FS_READ_FILE)]
    rules.append((base, fs & ~FS_EXECUTE))
    try:
        for path, rights in rules:
            _add_rule(ruleset, path, rights & fs)
    except OSError:
        os.close(ruleset)
        raise
    os.set_inheritable(ruleset, False)
    return ruleset


def _add_rule(ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # vanished or unreadable: nothing to allow
    try:
        if not os.path.isdir(f"/proc/self/fd/{fd}"):
            rights &= FILE_RIGHTS
        attr = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd), 12)  # packed struct
        _check(_libc.syscall(SYS_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset),
                             ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH), attr, ctypes.c_uint32(0)),
               f"landlock_add_rule({path})")
    finally:
        os.close(fd)


def real_uid(pid: int) -> int | None:
    """A process's real uid, from /proc/<pid>/status (None if it is gone)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _children(pid: int | None = None) -> set[int]:
    """A process's children (for this server, as subreaper, its children's orphans too)."""
    pid = pid or os.getpid()
    found = set()
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            found |= {int(p) for p in read_small(f"/proc/{pid}/task/{tid}/children").split()}
        except (OSError, ValueError):
            continue
    return found


def _live_children() -> set[int]:
    return _live(_children())


def _descendants(pids: set[int]) -> set[int]:
    found, todo = set(), list(pids)
    while todo and len(found) < 100_000:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += _children(pid)
    return found


def _is_zombie(pid: int) -> bool:
    try:
        return read_small(f"/proc/{pid}/stat").rsplit(b")", 1)[1].split()[0] in (b"Z", b"X")
    except (OSError, IndexError):
        return True  # gone




def _live(pids: set[int]) -> set[int]:
    return {p for p in pids if not _is_zombie(p)}


def _reap_zombies(keep: set[int] = frozenset()) -> None:
    """Wait for every child that has ended (but ``keep``'s, which their owner waits for)."""
    for pid in _children() - keep:
        if _is_zombie(pid):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
