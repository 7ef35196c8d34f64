"""The fork server: a warm NumPy process that grades each submission in a fresh, confined child.

Started by ``grader.sandbox.client`` as ``python -m grader.sandbox.server [--uid 1] [--preload M
...] [--lazy M ...]``, or forked with those arguments by a warm copy of this module started with
``--zygote FD`` (``grader.sandbox.zygote``), which imported NumPy once for all of a run's servers.
It never imports TensorFlow (a server for an exercise that needs Keras, A4's ``build_model``,
preloads Keras on its NumPy backend) nor any reference answer, so a child forked from it has
nothing to find. Its children are confined by ``grader.sandbox.jail`` (set up once here). It
reads length-prefixed frames on stdin:

- ``{"op": "configure", "group": str, "functions": [...], "limits": {...}, "load_timeout": s}``
  (``course.codec``), once per run and group (answered with the jail's protections, ``jail``,
  and what this machine could not put in force, ``missing``): each function's ``name``, ``cases`` (inputs only),
  ``timeout``, optional ``adapter`` and ``artifact`` and, when it calls other graded functions,
  ``inject_file``/``inject_names``: a file this server never reads into its memory, holding the
  correct callees' sources;
- ``{"op": "grade", "id": any, "submission": path, "group": str}`` (JSON) per submission and
  group (``functions``, ``limits`` and ``load_timeout`` may be given inline instead, then as
  ``course.codec``),

and answers each with one frame on stdout, an envelope (``frames.envelope``, written in parts): a JSON header
``{"status", "detail", "id", "load": {status, detail, seconds, cpu}, "functions": [{name, status,
detail, seconds, cpu}], "output", "seconds", "children", "cpu" (the children's CPU seconds),
"server_cpu" (this server's, so far)}`` followed by the child's raw frames (the load frame,
then one per function; empty where there is none). Statuses: ``ok``, ``timeout``, ``crashed``,
``too_big``, ``left_running``, ``not_run``.

One child loads the submission once and grades every function of the group in the order given
(callees first). Each stage has its own wall-clock deadline; when a function hangs, kills its
process or leaves processes running, the child's processes are killed and a fresh child grades
the functions that remain, so one bad function costs one exercise. A function's correct callees
are copied from their file into the child (``sendfile``, kernel to kernel) only when that
function is next. The server is a child subreaper: whatever a submission leaves running is
reparented here and killed before the next submission starts.
"""
from __future__ import annotations

import argparse
import gc
import importlib
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
from grader.quiet import stderr_silenced
from grader.sandbox import runner
from grader.sandbox.child import MAX_RESULT_BYTES, Child
from grader.sandbox.frames import envelope, read_frame, write_frame
from grader.sandbox.jail import Jail, die_with, walk_ahead
from grader.sandbox.processes import describe_exit, kill, set_name, tmp
from grader.sandbox.reach import SandboxSetupError
from grader.sandbox.zygote import serve as fork_on_request

MAX_SUBMISSION_BYTES = 128 * 2**20
"""the most all of a submission's results may take together (they travel in one reply)"""
OUTPUT_TAIL = 2000
KERAS_PACKAGES = ("keras", "jax", "tensorflow", "tf_keras", "tensorboard")
"""readable by the children of a Keras server: Keras, the JAX parts its NumPy backend imports,
and TensorFlow for a submission that imports it itself"""
STDLIB_PRELOAD = ("math", "cmath", "random", "itertools", "functools", "collections", "statistics", "time",
                  "copy", "operator", "typing", "dataclasses", "heapq", "bisect", "string", "re", "json",
                  "fractions", "decimal", "numbers", "secrets", "glob", "warnings", "enum", "abc", "tempfile",
                  "traceback")
"""imported before forking because the sandbox user may be unable to read the standard library
(a Python under a 0700 home, or hidden by Landlock): what honest submissions commonly import,
and what NumPy imports only on first use (``default_rng`` imports ``secrets``). Not ``threading``
(nor ``subprocess``, ``zipfile`` or ``numpy.random``, which import it): a process that has
imported it runs its fork hook in every child, about 0.3 ms of copied pages each."""


def preload(modules=()) -> None:
    """Import what submissions commonly import, once, so children start warm."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    from course import data  # noqa: F401  (the loader, not the checks)

    for name in STDLIB_PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    import numpy  # noqa: F401  (numpy.random is not: see ``main``)

    for name in modules:
        if name == "keras":
            preload_keras()
        elif name == "tensorflow":
            preload_tensorflow()
        elif name == "matplotlib":
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot  # noqa: F401
        else:
            __import__(name)


def preload_keras() -> None:
    """Import Keras on its NumPy backend, so children build and run students' models cheaply.

    ``build_model`` is judged by the model's layers, parameter count, compile state and outputs
    for given weights: all of that is Keras's own code on any backend, and the NumPy backend
    needs no runtime to start. With TensorFlow as the backend, every child started TensorFlow's
    runtime afresh (a child forked after it started would hang) and every fork copied a process
    three times the size. TensorFlow is not imported here; a submission that imports it itself
    still can (its ``tf.keras`` is this same Keras). The server stays single-threaded, which
    ``Server.grade`` checks before every fork.
    """
    os.environ["KERAS_BACKEND"] = "numpy"  # read once, when Keras is first imported
    with stderr_silenced():
        import keras  # noqa: F401

    from course import data, models  # noqa: F401  (the adapters the children call)

    data.load_mnist()  # read once here; children share the pages


def preload_readers() -> None:
    """Import what reads a saved model file (``course.kerasfile`` and h5py) and prepare the test
    digits it is evaluated on, once, before forking: a child may be unable to read the installed
    packages, and doing it in every child would cost each one more than grading the file."""
    from course import kerasfile, models

    models.mnist_test_inputs("float32")

    try:
        kerasfile.h5py_module()
    except kerasfile.KerasFileError:
        pass  # not installed: each file is refused with the message that says what to install


def preload_tensorflow() -> None:
    """Import TensorFlow quietly without starting its runtime (each child starts its own), for
    the submissions of a Keras server that import TensorFlow themselves (a zygote's ``lazy``)."""
    with stderr_silenced():
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


class Server:
    """Grades submissions against the configured functions; see the module docstring.

    Args:
        jail: how children are confined (``Jail.for_server``, set up in this process).
        lazy: modules too heavy to preload for everyone (a fork costs more the bigger the
            server): a submission whose file mentions one is graded by a zygote, a copy of this
            server that has imported them, started on first need.
        single_threaded: refuse to fork when this process has more than one thread (a server
            that preloaded TensorFlow, whose thread pools would not survive a fork).
    """

    def __init__(self, *, jail: Jail, base: str, lazy: tuple[str, ...] = (), single_threaded: bool = False):
        self.jail, self.base, self.lazy, self.single_threaded = jail, base, tuple(lazy), single_threaded
        self.clean_workdir: str | None = None
        self.groups: dict[str, dict] = {}
        self.zygote: Zygote | None = None

    def handle(self, message: dict) -> bytes | list[bytes]:
        op = message.get("op")
        if op == "configure":
            self.groups[message.get("group") or ""] = {k: message[k] for k in ("functions", "limits", "load_timeout")
                                                       if k in message}
            self.stop_zygote()  # it holds the old configuration
            if any(f.get("artifact") for f in message.get("functions") or ()):
                preload_readers()
            runner.rehearse(message.get("functions") or [], self.base)
            gc.freeze()  # the configuration too: a child's collections never walk it
            return envelope({"status": "ok", "detail": "", "jail": self.jail.active,
                             "missing": self.jail.missing()}, [])
        if op == "grade":
            if self.lazy and _mentions(message["submission"], self.lazy):
                return self.grade_in_zygote(message)
            return self.grade(message)
        if op == "probe":
            return self.probe(message)
        return envelope({"status": "error", "detail": f"unknown request {op!r}"}, [])

    def grade_in_zygote(self, message: dict) -> bytes | list[bytes]:
        for _ in range(2):  # a zygote that died is replaced once
            if self.zygote is None:
                self.zygote = Zygote(self)
            reply = self.zygote.ask(message)
            if reply is not None:
                return reply
            self.stop_zygote()
        return envelope({"status": "error", "detail": "the sandbox's zygote stopped unexpectedly"}, [])

    def stop_zygote(self) -> None:
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None

    def keep(self) -> set[int]:
        """Children that are part of the server, not leftovers of a submission."""
        return {self.zygote.pid} if self.zygote else set()

    def grade(self, message: dict) -> list[bytes]:
        if self.single_threaded and threads() != 1:
            raise RuntimeError(f"this process has {threads()} threads; forking it now could hang the child")
        start = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        config = self.groups.get(message.get("group") or "", {})
        functions = message.get("functions") or config.get("functions") or []
        job = {"submission": message["submission"], "limits": message.get("limits") or config["limits"]}
        load_timeout = float(message.get("load_timeout") or config.get("load_timeout") or 10.0)
        workdir = self._workdir()
        load: dict | None = None
        results: list[tuple[dict, bytes]] = []
        remaining, n_children, received = list(functions), 0, 0
        while remaining or load is None:
            cpu = math.ceil(load_timeout + sum(float(f["timeout"]) for f in remaining)) + 2
            child = Child({**job, "functions": remaining, "cpu_seconds": cpu}, workdir, self.jail)
            n_children += 1
            stage_start, cpu_start = time.perf_counter(), 0.0
            frame, status = self._stage(child, load_timeout)
            cpu_now = child.cpu()
            stage = {"status": status, "detail": self._detail(status, load_timeout, child),
                     "seconds": time.perf_counter() - stage_start, "cpu": max(0.0, cpu_now - cpu_start)}
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
                stage_start, cpu_start = time.perf_counter(), cpu_now
                child.go(spec)
                child.reader.max_size = min(MAX_RESULT_BYTES, MAX_SUBMISSION_BYTES - received)
                frame, status = self._stage(child, float(spec["timeout"]))
                received += len(frame or b"")
                cpu_now = child.cpu()
                results.append(({"name": spec["name"], "status": status,
                                 "detail": self._detail(status, float(spec["timeout"]), child),
                                 "seconds": time.perf_counter() - stage_start, "cpu": max(0.0, cpu_now - cpu_start)},
                                frame or b""))
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
        return envelope(meta, [load["frame"], *(blob for _, blob in results)])

    def probe(self, message: dict) -> list[bytes]:
        """Whether a confined child that runs no submission code can import ``modules`` and read
        ``files``; one frame, ``{name or path: "" or the error}`` (see ``runner.probe_main``)."""
        if self.single_threaded and threads() != 1:
            raise RuntimeError(f"this process has {threads()} threads; forking it now could hang the child")
        limits = runner.limits_of({"limits": message["limits"], "cpu_seconds": math.ceil(float(message["timeout"]))})
        workdir = self._workdir()
        read_fd, write_fd = os.pipe()
        self.jail.before_fork(limits)
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            runner.probe_main(list(message.get("modules") or []), list(message.get("files") or []), write_fd,
                              workdir, self.jail, limits)
        self.jail.forked(pid)
        os.close(write_fd)
        child = Child.adopt(pid, read_fd)
        frame, status = child.next(float(message["timeout"]))
        detail = "" if status == "ok" else self._detail(status, float(message["timeout"]), child)
        self._end(child)
        self._clean(workdir)
        return envelope({"status": status, "detail": detail}, [frame or b""])

    def _stage(self, child: Child, timeout: float) -> tuple[bytes | None, str]:
        """The child's next frame and its status; ``left_running`` if the child has started
        processes that are still alive (the frame is then dropped: the function fails)."""
        frame, status = child.next(timeout)
        if status == "ok":
            child.left = self.jail.leftovers(child.pid, keep=self.keep())
            if child.left:
                return None, "left_running"
            if self.jail.memory_exceeded(child.pid):  # a process it started was stopped for it
                return None, "crashed"
        return frame, status

    def _workdir(self) -> str:
        """The children's working folder (theirs to write in), made afresh only when dirty."""
        if self.clean_workdir is None:
            self.clean_workdir = _mkdtemp(self.base, "sub-")
            if self.jail.uid is not None:
                os.chown(self.clean_workdir, self.jail.uid, self.jail.uid)
            self.jail.prepare_environment(self.clean_workdir)
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
        memory = self.jail.memory_exceeded(child.pid)
        if memory is not None:
            return (f"memory limit: {memory} MB, for the function and every process it starts together "
                    "(the biggest was stopped)")
        if status == "timeout":
            return f"took longer than {timeout:g} s"
        if status == "too_big":
            return f"returned more than {child.reader.max_size // 2**20} MB of data"
        if status == "left_running":
            return (f"left {child.left} process{'es' if child.left > 1 else ''} running after it returned "
                    "(they were stopped); a graded function must not start background processes")
        child.finish()
        return describe_exit(child.wait_status)

    def _end(self, child: Child) -> None:
        if child.wait_status is None:
            child.finish()
        self.jail.reap(child.pid, keep=self.keep())


class Zygote:
    """A forked copy of the server that has also imported the server's ``lazy`` modules."""

    def __init__(self, server: Server):
        down_r, down_w = os.pipe()
        up_r, up_w = os.pipe()
        server_pid = os.getpid()
        pid = os.fork()
        if pid == 0:  # the zygote: a subreaper too, as the jail made its server one
            os.close(down_w)
            os.close(up_r)
            status = 1
            try:
                devnull = os.open(os.devnull, os.O_RDWR)
                os.dup2(devnull, 0)  # the server's pipes to the parent are not the zygote's
                os.dup2(devnull, 1)
                die_with(server_pid)  # its own imports are blocked by now: die_with came in at start
                server.jail.subreaper()
                server.jail.restore_environment()  # e.g. matplotlib's own cache folder, not a child's
                preload(server.lazy)
                gc.freeze()
                copy = Server(jail=server.jail, base=server.base)
                copy.groups = server.groups
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
            write_frame(self.to, codec.encode(message))  # a one-off request carries arrays
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
    """``tempfile.mkdtemp`` without its per-call overhead: a name from the pid and the clock."""
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
    """The end of the children's output file; never follows a link a child put in its place."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
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
                reply = envelope({"status": "error", "detail": f"sandbox error: {type(e).__name__}: {e}"}, [])
            write_frame(stdout, reply)
    finally:
        server.stop_zygote()
        server.jail.reap()


def refuse(why: str, stdin, stdout) -> None:
    """Answer every request with ``why`` (status ``refused``): this server cannot grade at all."""
    while read_frame(stdin) is not None:
        write_frame(stdout, envelope({"status": "refused", "detail": why}, []))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uid", type=int, default=None,
                        help="when root and nonzero, run children as a uid claimed for this server alone")
    parser.add_argument("--preload", nargs="*", default=[], help="modules to import before forking")
    parser.add_argument("--lazy", nargs="*", default=[],
                        help="modules imported by a zygote, for the submissions that mention them")
    parser.add_argument("--scratch", default=None, metavar="DIR",
                        help="where to make this server's folder (default: TMPDIR, else /tmp)")
    parser.add_argument("--zygote", type=int, default=None, metavar="FD",
                        help="instead, fork NumPy-only fork servers on requests from this socket "
                             "(grader.sandbox.zygote); --lazy: what those servers will have as theirs")
    args = parser.parse_args(argv)
    if args.zygote is not None:  # each child goes on from here as a server started with the request's arguments
        set_name("sandbox-zygote")
        preload()
        walk_ahead(tuple(args.lazy))
        gc.freeze()
        return fork_on_request(args.zygote, lambda request: main(request["argv"]))
    # SIGTERM (e.g. a Dask worker shutting down) unwinds like end of input: children killed,
    # temporary folders removed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    set_name("grader-sandbox")
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but frames may reach the parent's pipe
    preload(args.preload)
    keras = bool({"keras", "tensorflow"} & set(args.preload))
    base = _mkdtemp(args.scratch or tmp(), "grader-sandbox-")
    os.chmod(base, 0o711)
    try:
        jail = Jail.for_server(uid=args.uid, base=base, reveal=KERAS_PACKAGES if keras else (),
                               modules=tuple(args.preload + args.lazy))
    except SandboxSetupError as e:  # said to the parent, which stops the run with this line
        shutil.rmtree(base, ignore_errors=True)
        refuse(e.strerror, stdin, stdout)
        return
    if jail.ruleset_fd < 0 and jail.uid is not None:
        # no Landlock: the sandbox user may be unable to read the standard library, which
        # numpy.random needs (threading); with Landlock, children read it themselves when needed
        import numpy.random  # noqa: F401
    # what children may not import is forgotten once here rather than in every child, where
    # walking sys.modules would copy-on-write most of the server's pages
    runner.block_imports(runner.blocked_for(args.preload + args.lazy))
    gc.freeze()  # children don't copy pages just to run the collector over the server's objects
    try:
        serve(Server(jail=jail, base=base, lazy=tuple(args.lazy), single_threaded=keras), stdin, stdout)
    finally:
        jail.close()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
