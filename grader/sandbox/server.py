"""The fork server: a warm NumPy process that grades each submission in a fresh, limited child.

Started by ``grader.sandbox.client`` as ``python -m grader.sandbox.server [--preload M ...]
[--lazy M ...]``. It never imports TensorFlow (unless an assignment preloads Keras for its
children) nor any reference answer, so a child forked from it has nothing to find. It reads
length-prefixed frames on stdin:

- ``{"op": "configure", "functions": [...], "limits": {...}, "load_timeout": s, "allow": [...]}``
  (``course.codec``), once per run: each function's ``name``, ``cases`` (inputs only),
  ``timeout`` and, when it calls other graded functions, ``inject_file``/``inject_names``: a file
  this server never reads into its memory, holding the correct callees' sources;
- ``{"op": "grade", "id": any, "submission": path}`` (JSON) per submission (``functions``,
  ``limits`` and ``load_timeout`` may be given inline instead, then as ``course.codec``),

and answers each with one frame on stdout, an envelope (``frames.pack_envelope``): a JSON header
``{"status", "detail", "id", "load": {status, detail, seconds}, "functions": [{name, status,
detail, seconds}], "output", "seconds", "children", "cpu" (the children's CPU seconds),
"server_cpu" (this server's, so far)}`` followed by the child's raw frames
(the load frame, then one per function; empty where there is none). Statuses: ``ok``,
``timeout``, ``crashed``, ``too_big``, ``not_run``.

One child loads the submission once and grades every function in the order given (callees
first). Each stage has its own wall-clock deadline; when a function hangs or kills its process,
the child's process group is killed and a fresh child grades the functions that remain, so one
infinite loop costs one exercise. A function's correct callees are copied from their file into
the child (``sendfile``, kernel to kernel) only when that function is next. The server is a
child subreaper: whatever a submission leaves running is reparented here and killed before the
next submission starts.
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import os
import re
import resource
import shutil
import signal
import stat
import sys
import time

from course import codec
from grader.sandbox import runner
from grader.sandbox.child import MAX_RESULT_BYTES, Child
from grader.sandbox.frames import HEADER, pack_envelope, read_frame, write_frame  # noqa: F401  (re-exported)
from grader.sandbox.processes import (  # noqa: F401  (re-exported: the server's process helpers)
    CAN_LIST_CHILDREN, SANDBOX_UID_BASE, become_subreaper, claim_uid, describe_exit, kill, kill_leftovers,
    kill_user_processes, killpg, tmp)

MAX_SUBMISSION_BYTES = 128 * 2**20
"""the most all of a submission's results may take together (they travel in one reply)"""
OUTPUT_TAIL = 2000


def preload(modules=()) -> None:
    """Import what submissions commonly import, once, so children start warm."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    from course import data, plots  # noqa: F401  (the loader and the pictures, not the checks)

    for name in modules:
        if name in ("keras", "tensorflow"):
            from grader.quiet import QUIET_ENV, stderr_silenced

            os.environ.update(QUIET_ENV)
            with stderr_silenced():  # TensorFlow's C++ logging would land in every child's output
                # imported, not started: TensorFlow's thread pools would not survive a fork, so
                # each child starts its own runtime on first use
                import keras  # noqa: F401
                import tensorflow  # noqa: F401
        elif name == "matplotlib":
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot  # noqa: F401
        else:
            __import__(name)


class Server:
    """Grades submissions against the configured functions; see the module docstring.

    Args:
        lazy: modules too heavy to preload for everyone (a fork costs more the bigger the
            server): a submission whose file mentions one is graded by a zygote, a copy of this
            server that has imported them, started on first need.
    """

    def __init__(self, *, uid: int | None, base: str, lazy: tuple[str, ...] = ()):
        self.uid, self.base, self.lazy = uid, base, tuple(lazy)
        self.clean_workdir: str | None = None
        self.config: dict = {"functions": [], "limits": {}, "load_timeout": 10.0, "allow": []}
        self.zygote: Zygote | None = None

    def handle(self, message: dict) -> bytes:
        op = message.get("op")
        if op == "configure":
            self.config = {k: message[k] for k in ("functions", "limits", "load_timeout", "allow") if k in message}
            self.stop_zygote()  # it holds the old configuration
            gc.freeze()  # the configuration too: a child's collections never walk it
            return pack_envelope({"status": "ok", "detail": ""}, [])
        if op == "grade":
            if self.lazy and _mentions(message["submission"], self.lazy):
                return self.grade_in_zygote(message)
            return self.grade(message)
        return pack_envelope({"status": "error", "detail": f"unknown request {op!r}"}, [])

    def grade_in_zygote(self, message: dict) -> bytes:
        for _ in range(2):  # a zygote that died is replaced once
            if self.zygote is None:
                self.zygote = Zygote(self)
            reply = self.zygote.ask(message)
            if reply is not None:
                return reply
            self.stop_zygote()
        return pack_envelope({"status": "error", "detail": "the sandbox's zygote stopped unexpectedly"}, [])

    def stop_zygote(self) -> None:
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None

    def keep(self) -> set[int]:
        """Children that are part of the server, not leftovers of a submission."""
        return {self.zygote.pid} if self.zygote else set()

    def grade(self, message: dict) -> bytes:
        start = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        functions = message.get("functions") or self.config["functions"]
        job = {"submission": message["submission"], "limits": message.get("limits") or self.config["limits"],
               "allow": self.config.get("allow") or []}
        load_timeout = float(message.get("load_timeout") or self.config.get("load_timeout") or 10.0)
        workdir = self._workdir()
        load: dict | None = None
        results: list[tuple[dict, bytes]] = []
        remaining, n_children, received = list(functions), 0, 0
        while remaining or load is None:
            cpu = math.ceil(load_timeout + sum(float(f["timeout"]) for f in remaining)) + 2
            child = Child({**job, "functions": remaining, "cpu_seconds": cpu}, workdir, self.uid)
            n_children += 1
            stage_start = time.perf_counter()
            frame, status = child.next(load_timeout)
            stage = {"status": status, "detail": self._detail(status, load_timeout, child),
                     "seconds": time.perf_counter() - stage_start}
            if load is None:
                load = {**stage, "frame": frame or b""}
            if status != "ok":
                # the definitions can't be loaded: nothing that remains can be graded
                why = f"the submission could not be loaded: {stage['detail']}"
                results += [({"name": f["name"], "status": "not_run", "detail": why, "seconds": 0.0}, b"")
                            for f in remaining]
                self._end(child)
                break
            for i, spec in enumerate(remaining):
                stage_start = time.perf_counter()
                if spec.get("inject_file"):
                    child.send_sources(spec["inject_file"])
                child.reader.max_size = min(MAX_RESULT_BYTES, MAX_SUBMISSION_BYTES - received)
                frame, status = child.next(float(spec["timeout"]))
                received += len(frame or b"")
                results.append(({"name": spec["name"], "status": status,
                                 "detail": self._detail(status, float(spec["timeout"]), child),
                                 "seconds": time.perf_counter() - stage_start}, frame or b""))
                if status != "ok":
                    remaining = remaining[i + 1:]
                    break
            else:
                remaining = []
            self._end(child)
        output = _tail(os.path.join(workdir, "output.txt"))
        self._clean(workdir)
        meta = {"status": "ok", "detail": "", "id": message.get("id"),
                "load": {k: v for k, v in load.items() if k != "frame"},
                "functions": [m for m, _ in results], "output": output,
                "seconds": time.perf_counter() - start, "children": n_children,
                "cpu": _cpu(resource.getrusage(resource.RUSAGE_CHILDREN)) - _cpu(before),
                "server_cpu": _cpu(resource.getrusage(resource.RUSAGE_SELF))}
        return pack_envelope(meta, [load["frame"], *(blob for _, blob in results)])

    def _workdir(self) -> str:
        """The children's working folder (theirs to write in), made afresh only when dirty."""
        if self.clean_workdir is None:
            self.clean_workdir = _mkdtemp(self.base, "sub-")
            if self.uid is not None and os.geteuid() == 0:
                os.chown(self.clean_workdir, self.uid, self.uid)
        return self.clean_workdir

    def _clean(self, workdir: str) -> None:
        """Empty the output file for the next submission, or drop a folder the submission used."""
        try:
            entries = os.listdir(workdir)
            if entries == ["output.txt"]:
                fd = os.open(os.path.join(workdir, "output.txt"), os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                try:
                    if stat.S_ISREG(os.fstat(fd).st_mode):
                        os.ftruncate(fd, 0)
                        return
                finally:
                    os.close(fd)
            elif not entries:
                return
        except OSError:
            pass
        shutil.rmtree(workdir, ignore_errors=True)
        self.clean_workdir = None

    def _detail(self, status: str, timeout: float, child: Child) -> str:
        if status == "ok":
            return ""
        if status == "timeout":
            return f"took longer than {timeout:g} s"
        if status == "too_big":
            return f"returned more than {child.reader.max_size // 2**20} MB of data"
        child.finish()
        return describe_exit(child.wait_status)

    def _end(self, child: Child) -> None:
        if child.wait_status is None:
            child.finish()
        kill_leftovers(self.keep())
        if not CAN_LIST_CHILDREN and self.uid is not None:
            kill_user_processes(self.uid)  # no /proc child lists here: the slow way, by uid


class Zygote:
    """A forked copy of the server that has also imported the server's ``lazy`` modules."""

    def __init__(self, server: Server):
        down_r, down_w = os.pipe()
        up_r, up_w = os.pipe()
        server_pid = os.getpid()
        pid = os.fork()
        if pid == 0:  # the zygote
            os.close(down_w)
            os.close(up_r)
            status = 1
            try:
                devnull = os.open(os.devnull, os.O_RDWR)
                os.dup2(devnull, 0)  # the server's pipes to the parent are not the zygote's
                os.dup2(devnull, 1)
                become_subreaper()
                runner.die_with(server_pid)
                preload(server.lazy)
                gc.freeze()
                copy = Server(uid=server.uid, base=server.base)
                copy.config = server.config
                serve(copy, os.fdopen(down_r, "rb"), os.fdopen(up_w, "wb"))
                status = 0
            finally:
                os._exit(status)
        os.close(down_r)
        os.close(up_w)
        self.pid = pid
        self.to, self.back = os.fdopen(down_w, "wb"), os.fdopen(up_r, "rb")

    def ask(self, message: dict) -> bytes | None:
        """The zygote's reply to a grade request, or None if it has died."""
        try:
            write_frame(self.to, json.dumps(message).encode())
        except (BrokenPipeError, ValueError):
            return None
        return read_frame(self.back)

    def close(self) -> None:
        for f in (self.to, self.back):
            try:
                f.close()
            except OSError:
                pass
        kill(self.pid)
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _mentions(path: str, modules: tuple[str, ...]) -> bool:
    """Whether the file at ``path`` imports one of ``modules``, by a byte search (no parsing).

    Only a guess at which server is cheaper: a submission guessed wrong still imports the module
    itself, more slowly. ``%matplotlib inline`` is not an import (magics are not run).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)  # a FIFO must not block us
    except OSError:
        return False
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        data = f.read(runner.source.MAX_SOURCE_BYTES + 1)
    return any(re.search(rb"\b(?:import|from)\s+" + re.escape(m.encode()) + rb"\b", data) for m in modules)


def _mkdtemp(parent: str, prefix: str) -> str:
    """``tempfile.mkdtemp`` without ``tempfile``: it imports ``random``, whose at-fork hook would
    reseed in every child (a quarter of a millisecond each)."""
    for _ in range(1000):
        path = os.path.join(parent, f"{prefix}{os.getpid()}-{time.monotonic_ns()}")
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary folder name in {parent}")


def _cpu(usage) -> float:
    return usage.ru_utime + usage.ru_stime


def _tail(path: str) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # the submission owns the folder
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return ""
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - OUTPUT_TAIL))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def serve(server: Server, stdin, stdout) -> None:
    """Answer frames from ``stdin`` on ``stdout`` until end of input, then clean up."""
    try:
        while (frame := read_frame(stdin)) is not None:
            try:
                # a grade request is small JSON; a configuration carries arrays (codec)
                reply = server.handle(json.loads(frame) if frame[:1] == b"{" else codec.decode(frame))
            except Exception as e:  # a grader bug, reported rather than hanging the parent
                reply = pack_envelope({"status": "error", "detail": f"sandbox error: {type(e).__name__}: {e}"}, [])
            write_frame(stdout, reply)
    finally:
        server.stop_zygote()
        kill_leftovers()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uid", type=int, default=None,
                        help="run children as this uid (when root; default: claim a free one)")
    parser.add_argument("--preload", nargs="*", default=[], help="modules to import before forking")
    parser.add_argument("--lazy", nargs="*", default=[],
                        help="modules imported by a zygote, for the submissions that mention them")
    args = parser.parse_args(argv)
    # SIGTERM (e.g. a Dask worker shutting down) unwinds like end of input: children killed,
    # temporary folders removed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but frames may reach the parent's pipe
    preload(args.preload)
    uid = args.uid
    if uid is None and os.geteuid() == 0:
        uid, _lock = claim_uid()
    become_subreaper()
    # what children may not import is forgotten once here rather than in every child, where
    # walking sys.modules would copy-on-write most of the server's pages
    runner.block_imports(runner.blocked_for(args.preload + args.lazy))
    gc.freeze()  # children don't copy pages just to run the collector over the server's objects
    base = _mkdtemp(tmp(), "grader-sandbox-")
    os.chmod(base, 0o711)
    try:
        serve(Server(uid=uid, base=base, lazy=tuple(args.lazy)), stdin, stdout)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
