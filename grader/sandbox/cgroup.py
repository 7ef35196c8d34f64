"""A cgroup per sandboxed child: memory (and swap) and processes capped for everything it starts.

Rlimits cap each process alone (``RLIMIT_AS`` is per process), so a submission could hold
16 x 2 GB. A cgroup caps the child and all its descendants together, and the kernel's OOM killer
then acts inside the group only. ``Cgroups.create(name)`` runs once in the fork server and
makes a group ``name`` below the server's own cgroup. Before forking a child the server gets
a leaf ready with the child's limits (``Cgroups.prepare``); the child, still root and before
Landlock, moves itself there (``Cgroups.join``), so nothing it starts is ever outside. After the
child has ended, the server reads whether the OOM killer fired (``oom_kills``) and kills what is
left in the leaf (``Cgroups.remove``), which the next child then reuses: making and removing a
cgroup per child cost more than the rest of the confinement together. A leaf that cannot be
emptied is removed instead; a child forked without a prepared leaf makes ``c<its pid>``.

Two layouts, detected once:
  - cgroup v2 (one tree, e.g. ``/sys/fs/cgroup``, or ``/sys/fs/cgroup/unified`` on a hybrid
    host) where ``memory`` and ``pids`` can be enabled below the server's cgroup, or else below
    the tree's top (as root on a systemd host, whose session scope holds processes):
    ``memory.max``, ``memory.swap.max = 0``, ``memory.oom.group = 1`` (one OOM kills the whole
    group at once), ``pids.max``, and ``cgroup.kill``;
  - cgroup v1 (a hierarchy per controller): ``memory.limit_in_bytes``,
    ``memory.memsw.limit_in_bytes`` where swap accounting exists, ``pids.max``; the leaf's
    processes are killed one by one until none is left (no ``cgroup.kill``, no OOM group: the
    OOM killer stops the biggest process and the server fails the function).
Neither (not root and no delegated v2 tree, or a container without them): ``create`` returns
None and the jail keeps the rlimits alone; ``Jail.active`` says which is in force.
"""
from __future__ import annotations

import errno
import os
import signal
import time
from dataclasses import dataclass, field

from grader.sandbox.processes import read_small

CONTROLLERS = ("memory", "pids")


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _read(path: str) -> str:
    return read_small(path).decode()


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, file system type, super options) of every cgroup mount."""
    found = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                sep = fields.index("-")
                fstype, options = fields[sep + 1], set(fields[sep + 3].split(","))
                if fstype in ("cgroup", "cgroup2"):
                    found.append((fields[4], fstype, options))
    except (OSError, ValueError, IndexError):
        pass
    return found


def _own_groups() -> dict[str, str]:
    """This process's cgroup per hierarchy: {"": v2 path, "memory": v1 path, ...}."""
    groups = {}
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for controller in controllers.split(",") if controllers else [""]:
                    groups[controller] = path
    except (OSError, ValueError):
        pass
    return groups


@dataclass
class Cgroups:
    """One fork server's group; see the module docstring."""

    version: int
    """2 or 1"""
    parents: list[str]
    """the server's group: one folder (v2), or one per controller hierarchy (v1)"""
    swap: bool = False
    """whether swap is capped too (v2's ``memory.swap.max``, v1's ``memory.memsw``)"""
    spare: list["Leaf"] = field(default_factory=list)
    """emptied leaves, ready for the next child with the same limits"""
    prepared: "Leaf | None" = None
    """the leaf the next child forked will join (``prepare``)"""
    leaves: dict[int, "Leaf"] = field(default_factory=dict)
    """the leaf of each child that joined a prepared one, by pid"""
    made: int = 0
    """leaves this process has made so far (each gets a name of its own)"""

    @classmethod
    def create(cls, name: str) -> "Cgroups | None":
        """The server's group ``name``, v2 where it can be used, else v1, else None.

        ``name`` ends with the server's pid (``digits-grader-<pid>``): groups of the same prefix
        whose server is gone (killed before ``close``) are removed on the way.
        """
        made = cls._create_v2(name) or cls._create_v1(name)
        if made is not None:
            made.sweep(name.rpartition("-")[0] + "-")
        return made

    def sweep(self, prefix: str) -> int:
        """Remove the groups ``<prefix><pid>`` beside this one whose process has ended."""
        removed = 0
        for parent in self.parents:
            folder = os.path.dirname(parent)
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            for name in names:
                pid = name[len(prefix):]
                if name.startswith(prefix) and pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                    stale = Cgroups(self.version, [os.path.join(folder, name)])
                    stale.close()
                    removed += 1
        return removed

    @classmethod
    def _create_v2(cls, name: str) -> "Cgroups | None":
        """Below the server's own cgroup, else below the top of the tree: a cgroup that holds
        processes can't hand controllers down (but the root can), e.g. a systemd session's scope."""
        own = _own_groups().get("")
        places = [own, "/"] if own not in (None, "/") else ["/"]
        for (mount, fstype, _), place in ((m, p) for m in _mounts() for p in places):
            if fstype != "cgroup2" or own is None:
                continue
            here = os.path.normpath(mount + place)
            try:
                if not set(CONTROLLERS) <= set(_read(f"{here}/cgroup.controllers").split()):
                    continue
                enabled = set(_read(f"{here}/cgroup.subtree_control").split())
                if not set(CONTROLLERS) <= enabled:  # EBUSY if our cgroup holds processes and isn't the root
                    _write(f"{here}/cgroup.subtree_control", " ".join(f"+{c}" for c in CONTROLLERS))
                parent = f"{here}/{name}"
                os.mkdir(parent, 0o755)
            except OSError:
                continue
            try:
                _write(f"{parent}/cgroup.subtree_control", " ".join(f"+{c}" for c in CONTROLLERS))
            except OSError:
                os.rmdir(parent)
                continue
            return cls(2, [parent], swap=os.path.exists(f"{parent}/memory.swap.max"))
        return None

    @classmethod
    def _create_v1(cls, name: str) -> "Cgroups | None":
        own = _own_groups()
        parents = []
        for controller in CONTROLLERS:
            mount = next((m for m, fstype, options in _mounts() if fstype == "cgroup" and controller in options), None)
            if mount is None or controller not in own:
                break
            parent = os.path.normpath(f"{mount}{own[controller]}/{name}")
            try:
                os.mkdir(parent, 0o755)
            except FileExistsError:
                pass
            except OSError:
                break
            parents.append(parent)
        if len(parents) < len(CONTROLLERS):
            for parent in parents:
                _rmdir(parent)
            return None
        return cls(1, parents, swap=os.path.exists(f"{parents[0]}/memory.memsw.limit_in_bytes"))

    def describe(self) -> str:
        """What ``Jail.active`` lists, e.g. "cgroup v1 (memory, pids)"."""
        return f"cgroup v{self.version} ({', '.join(CONTROLLERS)}{', swap' if self.swap else ''})"

    def leaf(self, pid: int) -> list[str]:
        """Child ``pid``'s leaf: one folder per hierarchy."""
        if pid in self.leaves:
            return self.leaves[pid].paths
        return [f"{parent}/c{pid}" for parent in self.parents]

    def prepare(self, memory_bytes: int, processes: int) -> None:
        """Get a leaf ready for the next child forked (server side, before ``fork``): an emptied
        one with these limits, else a new one. On failure the child makes its own (``join``)."""
        limits = (memory_bytes, processes)
        owner = os.getpid()  # a zygote (a fork of the server) keeps leaves of its own
        leaf = next((f for f in self.spare if f.limits == limits and f.owner == owner), None)
        if leaf is not None:
            self.spare.remove(leaf)
        else:
            self.made += 1
            leaf = Leaf([f"{parent}/r{owner}-{self.made}" for parent in self.parents], limits, owner)
            try:
                self._make(leaf.paths, memory_bytes, processes)
            except OSError:
                for path in leaf.paths:
                    _rmdir(path)
                self.prepared = None
                return
        leaf.oom_before = self._oom_count(leaf)
        self.prepared = leaf

    def forked(self, pid: int) -> None:
        """Record that child ``pid`` was forked with the prepared leaf (server side)."""
        if self.prepared is not None:
            self.leaves[pid] = self.prepared
            self.prepared = None

    def join(self, memory_bytes: int, processes: int) -> None:
        """Move the calling process (a child, as root) into its leaf: the one the server prepared
        with these caps, else a new leaf ``c<pid>`` made here.

        Raises:
            OSError: the leaf could not be made or joined (the child must then not go on).
        """
        leaf = self.prepared
        if leaf is not None and leaf.limits == (memory_bytes, processes):
            paths = leaf.paths
        else:
            paths = self.leaf(os.getpid())
            self._make(paths, memory_bytes, processes)
        for path in paths:
            _write(f"{path}/cgroup.procs", "0")

    def _make(self, paths: list[str], memory_bytes: int, processes: int) -> None:
        for path in paths:
            os.mkdir(path, 0o755)
            if self.version == 2:
                _write(f"{path}/memory.max", str(memory_bytes))
                if self.swap:
                    _write(f"{path}/memory.swap.max", "0")
                _write(f"{path}/memory.oom.group", "1")
                _write(f"{path}/pids.max", str(processes))
            elif path.startswith(self.parents[0]):
                _write(f"{path}/memory.limit_in_bytes", str(memory_bytes))
                if self.swap:  # memory plus swap: no swap at all (after the memory limit, which it must not be below)
                    _write(f"{path}/memory.memsw.limit_in_bytes", str(memory_bytes))
            else:
                _write(f"{path}/pids.max", str(processes))

    def oom_kills(self, pid: int) -> int:
        """How many processes of child ``pid``'s leaf the OOM killer has stopped (0 if none)."""
        leaf = self.leaves.get(pid)
        if leaf is None:
            return self._oom_count(self.leaf(pid)[0])
        return self._oom_count(leaf) - leaf.oom_before

    def _oom_count(self, where: "str | Leaf") -> int:
        """A leaf's count of OOM kills so far (it only grows, over all the children it held)."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        try:
            text = where.read(name) if isinstance(where, Leaf) else _read(f"{where}/{name}")
            for line in text.splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def memory_limit(self, pid: int) -> int | None:
        """Child ``pid``'s memory cap in bytes, from its leaf (None if the leaf is gone)."""
        name = "memory.max" if self.version == 2 else "memory.limit_in_bytes"
        try:
            return int(_read(f"{self.leaf(pid)[0]}/{name}"))
        except (OSError, ValueError):
            return None

    def processes(self, pid: int) -> list[int] | None:
        """The processes in child ``pid``'s leaf (None if it can't be read)."""
        try:  # opened afresh: cgroup v1 keeps the list of a kept-open cgroup.procs, however often it is read
            return [int(p) for p in _read(self.leaf(pid)[0] + "/cgroup.procs").split()]
        except (OSError, ValueError):
            return None

    def kill(self, pid: int, timeout: float = 2.0) -> int:
        """SIGKILL every process in child ``pid``'s leaf; returns how many were alive."""
        return self._kill(self.leaf(pid), timeout)

    def _kill(self, paths: list[str], timeout: float = 2.0) -> int:
        procs = paths[0] + "/cgroup.procs"
        found = _pids(procs)
        if not found:
            return 0
        if self.version == 2:
            try:
                _write(paths[0] + "/cgroup.kill", "1")  # atomic: a fork bomb cannot outrun it
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        while (alive := _pids(procs)) and time.monotonic() < deadline:
            for p in alive:
                try:
                    os.kill(p, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.0005)
        return len(found)

    def remove(self, pid: int) -> None:
        """Kill what is left in child ``pid``'s leaf; keep the leaf for the next child if it is
        empty now, else remove it."""
        leaf = self.leaves.pop(pid, None)
        if leaf is None:
            self.kill(pid)
            paths = self.leaf(pid)
        else:  # read again only if something was alive: usually nothing was, and it is empty already
            if not self._kill(leaf.paths) or not _pids(leaf.paths[0] + "/cgroup.procs"):
                self.spare.append(leaf)
                return
            leaf.close()
            paths = leaf.paths
        for path in paths:
            _rmdir(path, wait=0.5)

    def close(self) -> None:
        """Remove every leaf left and the server's group (call when the server ends)."""
        for leaf in [*self.spare, *self.leaves.values()]:
            self._kill(leaf.paths)
            leaf.close()
        self.spare, self.leaves = [], {}
        for parent in self.parents:
            try:
                names = [e.name for e in os.scandir(parent) if e.is_dir(follow_symlinks=False)]
            except OSError:
                continue
            for name in names:
                paths = [os.path.join(p, name) for p in self.parents]
                self._kill(paths)
                for path in paths:
                    _rmdir(path, wait=0.5)
        for parent in self.parents:
            _rmdir(parent, wait=0.5)


@dataclass
class Leaf:
    """A child's cgroup: one folder per hierarchy, with the limits it was made with."""

    paths: list[str]
    limits: tuple[int, int]
    """(memory bytes, processes)"""
    owner: int
    """the pid of the server (or zygote) that made it"""
    oom_before: int = 0
    """the leaf's OOM kill count when its current child was forked"""
    fds: dict[str, int] = field(default_factory=dict)
    """files of the first folder kept open, read again after each function a child grades"""

    def read(self, name: str) -> str:
        """The leaf's file ``name`` (of its first hierarchy), read through a descriptor kept open
        (for a file the kernel writes afresh at each read from the start, as the OOM counts)."""
        fd = self.fds.get(name)
        if fd is None:
            fd = self.fds[name] = os.open(f"{self.paths[0]}/{name}", os.O_RDONLY | os.O_CLOEXEC)
        return os.pread(fd, 65536, 0).decode()

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()


def _pids(procs: str) -> list[int]:
    try:
        return [int(p) for p in _read(procs).split()]
    except (OSError, ValueError):
        return []


def _rmdir(path: str, wait: float = 0.0) -> bool:
    """Remove an (empty) cgroup; a group whose last process is still exiting is busy for a moment."""
    deadline = time.monotonic() + wait
    while True:
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError as e:
            if e.errno != errno.EBUSY or time.monotonic() >= deadline:
                return False
            time.sleep(0.001)
