"""Tests for ``grader.sandbox.jail``: what a confined child can and cannot do, root or not.

Each test runs the jail in a forked throwaway process (a "server"), so namespaces, uid changes
and Landlock never touch the test process itself; results come back as JSON on a pipe.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path

import pytest

from grader.authoring import solutions
from grader.sandbox import jail
from grader.sandbox.jail import Jail, Limits

LIMITS = Limits(cpu_seconds=10, memory_bytes=2 * 2**30, output_bytes=2**20, processes=16)
NOBODY = 65534
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
needs_landlock = pytest.mark.skipif(jail.landlock_abi() == 0, reason="this kernel has no Landlock")


def others_can_read_the_checkout() -> bool:
    """False for a checkout in a private (0700) folder: a non-root grader user or, without
    Landlock, a sandbox uid cannot use it there (``tests/grader/test_private_install.py`` covers
    that case)."""
    from grader.sandbox import reach

    return os.geteuid() != 0 or not reach.unreachable(NOBODY, [str(Path(jail.__file__).parents[2] / "course")])


def forked(job, *, timeout: float = 20.0) -> dict:
    """Run ``job()`` in a forked process; returns its JSON result (or the error it raised)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            result = job(write_fd)
        except BaseException as e:
            result = {"error": f"{type(e).__name__}: {e}"}
        os.write(write_fd, json.dumps(result).encode())
        os._exit(0)
    os.close(write_fd)
    deadline = time.monotonic() + timeout
    chunks = []
    while time.monotonic() < deadline:
        chunk = os.read(read_fd, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks) or b'{"error": "no result"}')


def in_a_server(job, *, become: int | None = None, timeout: float = 20.0):
    """Run ``job()`` in a forked process (optionally as uid ``become``); returns its JSON result."""
    if become == os.geteuid():  # already that user (the suite run as ``nobody``)
        become = None
    elif become is not None and os.geteuid() != 0:
        pytest.skip(f"needs root, or uid {become}, to run the server as uid {become}")

    def server(_result_fd):
        if become is not None:
            os.setgroups([])
            os.setresgid(become, become, become)
            os.setresuid(become, become, become)
        return job()
    return forked(server, timeout=timeout)


def confined(jail_: Jail, workdir: str, attempt) -> dict:
    """Fork a child of the server, ``enter`` the jail there, and return ``attempt()``'s result."""
    def child(result_fd):
        os.setsid()
        jail_.enter(LIMITS, workdir=workdir, keep_fds=(result_fd,))
        return attempt()
    return forked(child)


def outcome(action) -> str:
    try:
        action()
        return "allowed"
    except PermissionError:
        return "denied"
    except Exception as e:  # e.g. ENETUNREACH, or a lazy import the jail keeps out
        return f"{type(e).__name__}: {e}"


@pytest.fixture
def world_tmp():
    """A temporary folder other users can enter (pytest's own are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="jail-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def places(world_tmp):
    """A world-readable classmate's file, a world-writable folder and a jail base, like a class."""
    tmp_path = world_tmp
    classmate = tmp_path / "alice" / "a1_neuron.py"
    classmate.parent.mkdir()
    classmate.parent.chmod(0o755)
    classmate.write_text("def relu(z):\n    return max(0, z)\n")
    classmate.chmod(0o644)
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    base = tmp_path / "base"
    base.mkdir(mode=0o777)
    base.chmod(0o777)
    return {"classmate": str(classmate), "shared": str(shared), "base": str(base),
            "solution": str(solutions.notebook_path("a1_neuron")),
            "hints": str(Path(jail.__file__).parents[2] / "course" / "exercises" / "a1_neuron.py"),
            "course": str(Path(jail.__file__).parents[2] / "course" / "codec.py")}


def attempts(places: dict, listener_port: int):
    def attempt():
        workdir = os.getcwd()
        return {
            "solution": outcome(lambda: open(places["solution"]).read()),
            "hints": outcome(lambda: open(places["hints"]).read()),
            "classmate": outcome(lambda: open(places["classmate"]).read()),
            "shared": outcome(lambda: open(os.path.join(places["shared"], "x"), "w").write("x")),
            "proc": outcome(lambda: os.listdir("/proc")),
            "course": outcome(lambda: open(places["course"]).read()),
            "workdir": outcome(lambda: open(os.path.join(workdir, "scratch"), "w").write("x")),
            "signal_server": outcome(lambda: os.kill(os.getppid(), 0)),
            "tcp": outcome(lambda: socket.socket().connect(("127.0.0.1", listener_port))),
            "uid": os.getuid(),
            "environment": sorted(os.environ),
        }
    return attempt


@needs_landlock
def test_without_root_landlock_still_hides_answers_classmates_and_the_server(places):
    if not others_can_read_the_checkout():
        pytest.skip("the checkout is in a folder other users cannot enter, so uid 65534 cannot run it")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    os.environ["JAIL_TEST_SECRET"] = "x"

    def server():
        j = Jail.for_server(uid=None, base=places["base"])
        workdir = os.path.join(places["base"], "work")
        os.mkdir(workdir)
        os.chdir(workdir)
        return {"active": j.active, "child": confined(j, workdir, attempts(places, port))}

    try:
        got = in_a_server(server, become=NOBODY)
    finally:
        del os.environ["JAIL_TEST_SECRET"]
        listener.close()
    assert "error" not in got, got
    child = got["child"]
    assert child["uid"] == NOBODY and "uid" not in " ".join(got["active"])
    for secret in ("solution", "hints", "classmate", "shared", "proc"):
        assert child[secret] == "denied", (secret, child)
    assert child["course"] == child["workdir"] == "allowed"  # confined, not broken
    if jail.landlock_abi() >= 4:
        assert child["tcp"] == "denied"
    if jail.landlock_abi() >= 6:
        assert child["signal_server"] == "denied"  # same uid, yet the server is out of reach
    assert "JAIL_TEST_SECRET" not in child["environment"]


@root_only
@needs_landlock
def test_as_root_children_run_as_a_claimed_uid_without_network(places):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def server():
        j = Jail.for_server(uid=1, base=places["base"])
        workdir = os.path.join(places["base"], "work")
        os.mkdir(workdir)
        os.chown(workdir, j.uid, j.uid)
        os.chdir(workdir)
        return {"uid": j.uid, "active": j.active, "child": confined(j, workdir, attempts(places, port))}

    try:
        got = in_a_server(server)
    finally:
        listener.close()
    assert "error" not in got, got
    child = got["child"]
    assert got["uid"] in jail.UID_POOL and child["uid"] == got["uid"]
    assert {"network namespace", "subreaper"} <= set(got["active"])
    for secret in ("solution", "hints", "classmate", "shared", "proc", "signal_server"):
        assert child[secret] == "denied", (secret, child)
    assert child["tcp"] != "allowed" and child["course"] == "allowed"


@pytest.mark.parametrize("as_root", [True, False], ids=["root", "not-root"])
def test_reap_kills_a_daemon_that_left_with_double_fork_and_setsid(world_tmp, as_root):
    if as_root and os.geteuid() != 0:
        pytest.skip("needs root")
    if not others_can_read_the_checkout():  # without Landlock the server then refuses to start
        pytest.skip("the checkout is in a folder other users cannot enter")
    base = world_tmp / "base"
    base.mkdir(mode=0o777)
    base.chmod(0o777)

    def server():
        j = Jail.for_server(uid=1 if as_root else None, base=str(base), landlock=False)
        workdir = os.path.join(str(base), "work")
        os.mkdir(workdir)
        if j.uid:
            os.chown(workdir, j.uid, j.uid)

        def spawn_daemon():
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    signal.signal(signal.SIGTERM, signal.SIG_IGN)
                    os.closerange(3, 1024)  # let the result pipe close
                    time.sleep(60)
                os._exit(0)
            time.sleep(0.2)
            return {}

        confined(j, workdir, spawn_daemon)
        alive_before = sorted(jail._live_children())
        left = j.reap()
        return {"left": left, "alive_before": alive_before, "alive_after": sorted(jail._live_children()),
                "uid_processes": sorted(p for p in map(int, filter(str.isdigit, os.listdir("/proc")))
                                        if j.uid and jail.real_uid(p) == j.uid)}

    got = in_a_server(server, become=None if as_root else NOBODY)
    assert "error" not in got, got
    assert got["left"] == 1 and len(got["alive_before"]) == 1
    assert got["alive_after"] == [] and got["uid_processes"] == []


@root_only
def test_uid_claims_never_collide():
    first, lock1 = jail.claim_uid()
    second, lock2 = jail.claim_uid()
    try:
        assert first != second and {first, second} <= set(jail.UID_POOL)
    finally:
        os.close(lock1)
        os.close(lock2)


def test_allowed_subtrees_cover_everything_but_the_hidden_parts(tmp_path):
    for name in ("pkg/a.py", "pkg/secret/s.py", "pkg/sub/b.py", "other/c.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    (tmp_path / "pkg" / "link").symlink_to(tmp_path / "pkg" / "secret")
    got = jail.allowed_subtrees([str(tmp_path / "pkg"), str(tmp_path / "other")], [str(tmp_path / "pkg" / "secret")])
    assert sorted(Path(p).relative_to(tmp_path).as_posix() for p in got) == ["other", "pkg/a.py", "pkg/sub"]


def test_a_child_cannot_read_a_file_through_the_servers_output_tail(tmp_path):
    """The server reads the child's output file as root: a link put in its place is not followed."""
    from grader.sandbox.client import Sandbox

    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LINE\n")
    secret.chmod(0o600)
    folder = tmp_path / "eve"
    folder.mkdir()
    (folder / "a1_neuron.py").write_text(
        "import numpy as np\n\n\ndef relu(z):\n    import os\n    os.remove('output.txt')\n"
        f"    os.symlink({str(secret)!r}, 'output.txt')\n    return 0.0\n")
    for p in (tmp_path, folder, folder / "a1_neuron.py"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    request = {"function": "relu", "cases": [{"args": (1.0,), "kwargs": {}}], "inject": {}, "timeout": 5.0,
               "submission": str(folder / "a1_neuron.py")}
    with Sandbox(worker=0) as sandbox:
        reply = sandbox.run(request)
    assert reply["status"] == "ok", reply
    assert "TOP-SECRET" not in reply["output"]


@root_only
@needs_landlock
def test_a_child_reads_allowed_code_behind_a_private_folder_but_not_what_etc_keeps_private(world_tmp):
    """A module in a 0700 folder the server imported from: the sandbox uid cannot pass through,
    so children keep CAP_DAC_READ_SEARCH alone, under Landlock, which still hides the rest."""
    private = world_tmp / "private"
    (private / "site" / "privatemod").mkdir(parents=True)
    (private / "site" / "privatemod" / "__init__.py").write_text("VALUE = 42\n")
    (private / "site" / "privatemod" / "lazy.py").write_text("LAZY = 7\n")
    (private / "secret.txt").write_text("not for children\n")
    private.chmod(0o700)
    base = world_tmp / "base"
    base.mkdir(mode=0o777)
    base.chmod(0o777)

    def server():
        import sys

        sys.path.append(str(private / "site"))
        import privatemod  # noqa: F401  (the server imported it: its site folder is a root)

        j = Jail.for_server(uid=1, base=str(base))
        workdir = os.path.join(str(base), "work")
        os.mkdir(workdir)
        os.chown(workdir, j.uid, j.uid)
        os.chdir(workdir)

        def attempt():
            from grader.sandbox import reach

            return {"lazy": outcome(lambda: __import__("privatemod.lazy")),
                    "secret": outcome(lambda: open(private / "secret.txt").read()),
                    "shadow": outcome(lambda: open("/etc/shadow").read()),
                    "write": outcome(lambda: open(private / "site" / "new.py", "w")),
                    "capabilities": reach.capabilities(), "uid": os.getuid()}
        return {"active": j.active, "child": confined(j, workdir, attempt)}

    got = in_a_server(server)
    assert "error" not in got, got
    child = got["child"]
    assert "read-search capability" in got["active"], got
    assert "error" not in child, child
    assert child["lazy"] == "allowed" and child["uid"] in jail.UID_POOL
    assert child["secret"] == child["shadow"] == child["write"] == "denied", child
    assert child["capabilities"] == [1 << 2, 1 << 2]  # CAP_DAC_READ_SEARCH, nothing else
