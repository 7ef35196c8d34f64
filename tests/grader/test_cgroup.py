"""Tests for ``grader.sandbox.cgroup``: a child's leaf caps the memory and processes of
everything it starts, together; the OOM killer's work is seen; the leaf is killed and removed.

Each child joins a leaf as the jail's children do (``Cgroups.join``, first thing in
``Jail.enter``). Skipped where no cgroup can be made (not root, no v1 or v2 controllers).
"""
from __future__ import annotations

import ctypes
import os
import select
import signal
import time

import pytest

from grader.sandbox import cgroup
from grader.sandbox.cgroup import Cgroups

MB = 2**20


@pytest.fixture
def groups():
    made = Cgroups.create(f"digits-grader-{os.getpid()}")
    if made is None:
        pytest.skip("no writable cgroup v1 or v2 with memory and pids here")
    yield made
    made.close()
    assert not any(os.path.exists(p) for p in made.parents)


def child_that(groups: Cgroups, memory: int, processes: int, job) -> int:
    """Fork a child that joins its leaf, says so on a pipe, then runs ``job``; returns its pid."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            groups.join(memory, processes)
            os.write(write_fd, b"!")
            job()
        finally:
            os._exit(0)
    os.close(write_fd)
    assert os.read(read_fd, 1) == b"!"
    os.close(read_fd)
    return pid


def hold(size: int) -> None:
    """Fill ``size`` bytes of fresh memory (every page) and keep it until killed."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    block = libc.mmap(None, size, 3, 0x8022, -1, 0)  # private, anonymous, populated
    if block and block != 2**64 - 1:
        ctypes.memset(block, 1, size)
    signal.pause()


def test_memory_is_capped_for_a_child_and_its_processes_together(groups):
    def job():  # four processes of 96 MB each: under any per-process limit, 384 MB together
        for _ in range(3):
            if os.fork() == 0:
                hold(96 * MB)
        hold(96 * MB)
    pid = child_that(groups, 256 * MB, 16, job)
    deadline = time.monotonic() + 20
    while not groups.oom_kills(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert groups.oom_kills(pid) >= 1
    assert groups.memory_limit(pid) == 256 * MB
    groups.remove(pid)
    os.waitpid(pid, 0)
    assert not any(os.path.exists(p) for p in groups.leaf(pid))


def test_a_child_under_its_cap_sees_no_oom(groups):
    pid = child_that(groups, 256 * MB, 16, lambda: hold(64 * MB))
    time.sleep(0.5)
    assert groups.oom_kills(pid) == 0
    assert groups.kill(pid) == 1
    os.waitpid(pid, 0)
    groups.remove(pid)


def test_processes_are_capped_for_the_whole_leaf(groups):
    read_fd, write_fd = os.pipe()

    def job():
        started = 0
        for _ in range(20):
            try:
                if os.fork() == 0:
                    signal.pause()
                started += 1
            except OSError:
                break
        os.write(write_fd, bytes([started]))
        signal.pause()
    pid = child_that(groups, 256 * MB, 5, job)
    started = os.read(read_fd, 1)[0]
    assert started == 4  # the child itself is the fifth
    assert groups.kill(pid) == 5
    os.waitpid(pid, 0)
    groups.remove(pid)
    assert not any(os.path.exists(p) for p in groups.leaf(pid))


def test_kill_reaches_a_daemon_that_left_with_setsid(groups):
    def job():
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                signal.pause()
            os._exit(0)
        signal.pause()
    pid = child_that(groups, 256 * MB, 16, job)
    time.sleep(0.2)
    procs = groups.leaf(pid)[0] + "/cgroup.procs"
    assert len(cgroup._pids(procs)) == 2  # the child and the daemon (its middle parent is gone)
    groups.remove(pid)
    os.waitpid(pid, 0)
    assert not os.path.exists(procs)


def test_groups_of_a_server_that_died_are_swept_by_the_next(groups):
    pid = os.fork()
    if pid == 0:
        Cgroups.create(f"digits-grader-{os.getpid()}")  # and never closed
        os._exit(0)
    os.waitpid(pid, 0)
    stale = [os.path.join(os.path.dirname(p), f"digits-grader-{pid}") for p in groups.parents]
    assert all(os.path.isdir(p) for p in stale)
    assert groups.sweep("digits-grader-") >= 1  # what ``create`` does on the way
    assert not any(os.path.exists(p) for p in stale)
    assert all(os.path.isdir(p) for p in groups.parents)  # a live server's group stays


def in_a_server(tmp_path, check) -> None:
    """Run ``check(jail)`` in a throwaway fork server (the jail's namespaces never touch this
    process); it returns None when all is well, else what went wrong. Skips without a cgroup."""
    from grader.sandbox.jail import Jail

    read_fd, write_fd = os.pipe()
    server = os.fork()
    if server == 0:
        result = b"?"
        try:
            j = Jail.for_server(uid=None, base=str(tmp_path), landlock=False, syscall_filter=False)
            if j.cgroups is None:
                result = b"-"
            else:
                wrong = check(j)
                j.close()
                result = b"y" if wrong is None else repr(wrong).encode()
        except BaseException as e:
            result = repr(e).encode()
        finally:
            os.write(write_fd, result)
            os._exit(0)
    os.close(write_fd)
    result = os.read(read_fd, 1000)
    os.waitpid(server, 0)
    if result == b"-":
        pytest.skip("no cgroup here")
    assert result == b"y", result


def test_the_jail_puts_each_child_in_a_leaf_and_removes_it(tmp_path):
    from grader.sandbox.jail import Limits

    def check(j):
        limits = Limits(cpu_seconds=10, memory_bytes=2048 * MB, output_bytes=MB, processes=16)
        child = os.fork()
        if child == 0:
            j.enter(limits, workdir=str(tmp_path))
            signal.pause()
        time.sleep(0.3)
        leaf = j.cgroups.leaf(child)[0]
        joined = cgroup._pids(leaf + "/cgroup.procs") == [child]
        exceeded = j.memory_exceeded(child)
        j.reap(child)  # kills the leaf and reaps the child, as the server does after each child
        gone = not any(os.path.exists(p) for p in j.cgroups.leaf(child))
        described = [a for a in j.active if a.startswith("cgroup v")]
        ok = joined and exceeded is None and gone and len(described) == 1
        return None if ok else (joined, exceeded, gone, j.active)
    in_a_server(tmp_path, check)


def test_the_next_child_reuses_an_emptied_leaf_and_sees_only_its_own_oom_and_processes(tmp_path):
    """A leaf is made once and reused (``prepare``/``forked``): each child's OOM count starts
    from zero, and a process a child leaves running is seen (``leftovers``) and then killed."""
    from grader.sandbox.jail import Limits

    limits = Limits(cpu_seconds=10, memory_bytes=384 * MB, output_bytes=MB, processes=16)
    ready_r, ready_w = os.pipe()

    def leave_one_running():
        if os.fork() == 0:
            signal.pause()

    def overflow():  # one of two processes of the child's is stopped by the OOM killer
        holders = []
        for _ in range(2):
            if (pid := os.fork()) == 0:
                with open("/proc/self/oom_score_adj", "w") as f:
                    f.write("1000")  # the victim, not the child (which has the test's pages too)
                hold(192 * MB)  # over the cap together
            holders.append(pid)
        stopped, _ = os.wait()
        for pid in set(holders) - {stopped}:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)

    def check(j):
        def child(job) -> int:
            j.before_fork(limits)
            pid = os.fork()
            if pid == 0:
                j.cgroups.join(limits.memory_bytes, limits.processes)  # what ``Jail.enter`` does first
                job()
                os.write(ready_w, b"!")
                signal.pause()
            j.forked(pid)
            assert select.select([ready_r], [], [], 30)[0] and os.read(ready_r, 1) == b"!"
            return pid

        seen = []
        for job in (overflow, lambda: None, leave_one_running, lambda: None):
            pid = child(job)
            seen.append((j.cgroups.leaf(pid)[0], j.memory_exceeded(pid), j.leftovers(pid)))
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            j.reap(pid)
        ok = (len({leaf for leaf, _, _ in seen}) == 1 and [m for _, m, _ in seen] == [384, None, None, None]
              and [n for _, _, n in seen] == [0, 0, 1, 0])
        return None if ok else seen
    in_a_server(tmp_path, check)


def test_v2_is_found_where_its_controllers_can_be_handed_down(tmp_path, monkeypatch):
    """A cgroup v2 tree faked with plain files: the session's own group holds processes (the
    kernel would refuse to hand controllers down, EBUSY), so the group goes below the top."""
    top = tmp_path / "cgroup2"
    scope = top / "user.slice" / "session-1.scope"
    scope.mkdir(parents=True)
    (top / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (top / "cgroup.subtree_control").write_text("memory pids\n")
    (scope / "cgroup.controllers").write_text("memory pids\n")
    (scope / "cgroup.subtree_control").write_text("")
    real_write = cgroup._write

    def write(path, text):
        if path == f"{scope}/cgroup.subtree_control":
            raise OSError(16, "Device or resource busy")  # what the kernel says for a group with processes
        real_write(path, text)
    monkeypatch.setattr(cgroup, "_write", write)
    monkeypatch.setattr(cgroup, "_mounts", lambda: [(str(top), "cgroup2", {"rw"})])
    monkeypatch.setattr(cgroup, "_own_groups", lambda: {"": "/user.slice/session-1.scope"})
    original_open = os.open
    monkeypatch.setattr(os, "open", lambda path, flags, *a: original_open(path, flags | os.O_CREAT, 0o644, *a[1:]))
    made = Cgroups._create_v2("digits-grader-1")
    assert made is not None and made.version == 2
    assert made.parents == [str(top / "digits-grader-1")]
    assert (top / "digits-grader-1" / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert made.describe() == "cgroup v2 (memory, pids)"  # no memory.swap.max in the fake tree


def test_no_cgroup_is_made_where_no_tree_has_the_controllers(monkeypatch, tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpu io\n")
    monkeypatch.setattr(cgroup, "_mounts", lambda: [(str(tmp_path), "cgroup2", {"rw"})])
    monkeypatch.setattr(cgroup, "_own_groups", lambda: {"": "/"})
    assert Cgroups.create("digits-grader-1") is None
