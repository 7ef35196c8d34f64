"""Grade the whole hostile corpus once per session with the real ``grader grade`` command.

Before and after the run the fixture records everything an attack could have touched: hashes of
the repository's packages and of every student folder, ``git status``, the network listener,
the processes descended from this test process (made a subreaper, so any process the run leaves
behind ends up as its child), and the marker file that only code run in the trusted parent
could create.
"""
from __future__ import annotations

import csv
import ctypes
import hashlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.authoring import solutions
from grader.sandbox.jail import UID_POOL, real_uid


def load_corpus():
    """``tests/hostile/corpus.py``, imported once under one name (pytest runs with importlib mode)."""
    if "hostile_corpus" not in sys.modules:
        spec = importlib.util.spec_from_file_location("hostile_corpus", Path(__file__).with_name("corpus.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return sys.modules["hostile_corpus"]


corpus = load_corpus()

PR_SET_CHILD_SUBREAPER = 36
TIMEOUT = 2


@dataclass
class Run:
    root: Path
    ctx: corpus.Context
    cases: list
    proc: subprocess.CompletedProcess
    seconds: float
    before: dict
    after: dict
    leftovers: list[str] = field(default_factory=list)
    network_contacts: list[str] = field(default_factory=list)

    @property
    def out(self) -> Path:
        return self.ctx.out_dir

    def rows(self) -> dict[str, dict]:
        with open(self.out / "grades.csv") as f:
            return {r["student"]: r for r in csv.DictReader(f)}

    def result(self, student: str) -> dict:
        return json.loads((self.out / "results" / f"{student}.json").read_text())


def tree_digest(root: Path) -> dict[str, str]:
    """path -> what it is (file contents' hash, link target, or kind), for a whole tree."""
    digest = {}
    for p in sorted([root, *root.rglob("*")]):
        st = p.lstat()
        key = str(p.relative_to(root))
        mode = oct(st.st_mode)
        if p.is_symlink():
            digest[key] = f"link {os.readlink(p)}"
        elif p.is_file():
            if st.st_size > 64 * 2**20:  # the sparse gigabyte: size, mtime and inode say enough
                digest[key] = f"{mode} big {st.st_size} {st.st_mtime_ns} {st.st_ino}"
            else:
                digest[key] = f"{mode} {hashlib.sha256(p.read_bytes()).hexdigest()}"
        else:
            digest[key] = f"{mode} {'dir' if p.is_dir() else 'other'}"
    return digest


def snapshot(repo: Path, class_dir: Path) -> dict:
    packages = {name: tree_digest(repo / name) for name in ("course", "grader", "solutions", "assignments")}
    site = Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    status = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--ignored", "--untracked-files=all"],
                            capture_output=True, text=True).stdout
    return {"packages": packages, "site-packages": sorted(os.listdir(site)), "git": status,
            "class": tree_digest(class_dir), "spill": _spilled_files()}


def _spilled_files() -> list[str]:
    """Files an attack might have left in shared writable places, and cgroups left behind."""
    from grader.sandbox import cgroup

    found = []
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        try:
            found += [f"{folder}/{n}" for n in os.listdir(folder) if n.startswith("fill-")]
        except OSError:
            pass
    own = cgroup._own_groups()
    for mount, fstype, options in cgroup._mounts():
        for controller in ("",) if fstype == "cgroup2" else [c for c in options if c in own]:
            for place in {own.get(controller, "/"), "/"}:
                folder = os.path.normpath(mount + place)
                try:
                    # a fork server's group outliving its server (the run's servers are all gone
                    # by now; a live one may be another grading run's)
                    found += [f"{folder}/{n}" for n in os.listdir(folder) if n.startswith("digits-grader-")
                              and not os.path.exists(f"/proc/{n.rpartition('-')[2]}")]
                except OSError:
                    pass
    return sorted(set(found))


def make_lambda_model(path: Path, marker: Path) -> None:
    """A real ``.keras`` file whose Lambda layer creates ``marker`` if it is ever loaded unsafely."""
    script = f"""
from grader.quiet import keras
keras = keras()
def touch(x, path={str(marker)!r}):
    open(path, "w").close()
    return x
model = keras.Sequential([keras.Input((784,)), keras.layers.Lambda(touch), keras.layers.Dense(10)])
model.save({str(path)!r})
"""
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=300)
    marker.unlink(missing_ok=True)  # saving traced the Lambda once, in this trusted test process


def _listener() -> tuple[socket.socket, socket.socket]:
    for _ in range(20):
        tcp = socket.socket()
        tcp.bind(("127.0.0.1", 0))
        tcp.listen(8)
        tcp.setblocking(False)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            udp.bind(("127.0.0.1", tcp.getsockname()[1]))
        except OSError:
            tcp.close()
            udp.close()
            continue
        udp.setblocking(False)
        return tcp, udp
    raise RuntimeError("no free port for the listener")


def _contacts(tcp: socket.socket, udp: socket.socket) -> list[str]:
    heard = []
    try:
        conn, addr = tcp.accept()
        heard.append(f"tcp connection from {addr}")
        conn.close()
    except BlockingIOError:
        pass
    try:
        heard.append(f"udp datagram {udp.recv(100)!r}")
    except BlockingIOError:
        pass
    return heard


def _set_subreaper(on: bool) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, ctypes.c_ulong(int(on)), 0, 0, 0)


def _descendants_left() -> list[str]:
    """Processes left behind by the run: our children now (we are their subreaper), plus any
    process of a sandbox uid whose ancestry leads here. Zombies are reaped and not counted."""
    me = os.getpid()
    left = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        pid, chain, uid = int(entry), [], real_uid(int(entry))
        try:
            while pid > 1 and pid != me and len(chain) < 64:
                stat_text = Path(f"/proc/{pid}/stat").read_text()
                state, ppid = stat_text.rsplit(")", 1)[1].split()[:2]
                chain.append((pid, state))
                pid = int(ppid)
        except (OSError, ValueError):
            continue
        if pid != me:
            continue
        first_pid, state = chain[0]
        if state in ("Z", "X"):
            try:
                os.waitpid(first_pid, os.WNOHANG)
            except ChildProcessError:
                pass
            continue
        if len(chain) == 1 or uid in UID_POOL:
            args = Path(f"/proc/{first_pid}/cmdline").read_bytes().split(b"\0")
            # the program's name, not its path: a long checkout path must not push the arguments out
            described = b" ".join([os.path.basename(args[0]), *args[1:]])[:80]
            left.append(f"pid {first_pid} uid {uid}: {described!r}")
    return left


@pytest.fixture(scope="session")
def hostile_run() -> Run:
    repo = solutions.ROOT
    root = Path(tempfile.mkdtemp(prefix="hostile-corpus-"))
    root.chmod(0o755)
    tcp, udp = _listener()
    ctx = corpus.Context(repo=repo, class_dir=root / "class", out_dir=root / "out", marker=root / "marker",
                         port=tcp.getsockname()[1])
    try:
        make_lambda_model(root / "lambda.keras", ctx.marker)
        cases = corpus.all_cases()
        for case in cases:
            case.write(ctx)
        for student, overrides in corpus.CONTROLS.items():
            corpus.samples.write_py(ctx.class_dir / student, corpus.ASSIGNMENT, overrides)
        corpus.world_readable(ctx.class_dir)
        before = snapshot(repo, ctx.class_dir)
        env = {**os.environ, "HOSTILE_CANARY": corpus.CANARY, "PYTHONDONTWRITEBYTECODE": "1"}
        _set_subreaper(True)
        start = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, "-m", "grader.cli", "grade", corpus.ASSIGNMENT, str(ctx.class_dir),
                                   "--out", str(ctx.out_dir), "--timeout", str(TIMEOUT), "--workers", "2"],
                                  capture_output=True, text=True, env=env, timeout=600)
            seconds = time.perf_counter() - start
            leftovers = _descendants_left()
        finally:
            _set_subreaper(False)
        for line in leftovers:  # don't let a failure here leak into the rest of the session
            try:
                os.kill(int(line.split()[1]), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        run = Run(root, ctx, cases, proc, seconds, before, snapshot(repo, ctx.class_dir), leftovers,
                  _contacts(tcp, udp))
        yield run
    finally:
        tcp.close()
        udp.close()
        if not os.environ.get("HOSTILE_KEEP"):
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def leftover_check():
    """(set_subreaper, descendants_left): the process check ``hostile_run`` relies on."""
    yield _set_subreaper, _descendants_left
    _set_subreaper(False)
