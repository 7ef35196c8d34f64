"""What a sandboxed child does: load a submission's definitions once, then grade its functions.

Runs after ``fork`` in the fork server, confined by ``grader.sandbox.jail`` (rlimits, an
unprivileged uid when the grader is root, a filesystem allow-list, no network). It sees the
case *inputs* only; answers never reach this process. Functions are graded in the order given
(callees before their callers), each result going back as one ``course.codec`` frame on a pipe,
which the trusted side decodes without pickle. A job of *artifact* functions (a file the
student saved, e.g. A4's ``digits.keras``) loads no submission code at all: each case runs the
exercise's adapter on a copy of the file.
"""
from __future__ import annotations

import builtins
import functools
import importlib
import json
import os
import shutil
import signal
import sys
import tempfile
import types

from course import calls, codec, source
from grader.sandbox.frames import HEADER, write_fd
from grader.sandbox.jail import Jail, Limits, set_limits
from grader.sandbox.processes import set_name

# Modules that hold answers, hints or grading logic: a submission may not import them.
BLOCKED = ("grader", "course.exercises", "course.judge", "course.selfcheck", "course.fixtures",
           "course.compare", "solutions", "tensorflow", "keras")
NUMPY_ONLY_REASON = "{name} can't be imported while grading: this exercise is NumPy only"
HEAVY = ("tensorflow", "keras")
"""blocked unless the server preloaded them; a plain ``import keras`` then gets a placeholder
module (so a notebook that imports Keras for one exercise still loads for its NumPy-only ones),
and any use of it raises ImportError"""
MAX_ARTIFACT_BYTES = 64 * 2**20


class _Unavailable(types.ModuleType):
    """What ``import keras`` gives a NumPy-only exercise: any use raises ImportError."""

    __path__: list = []  # a package, so `import keras.layers` asks the blocker (and gets its message)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise ImportError(NUMPY_ONLY_REASON.format(name=f"{self.__name__}.{attr}"))


class _Blocker:
    """A ``sys.meta_path`` finder that refuses the blocked modules.

    (Not an ``importlib.abc.MetaPathFinder`` subclass: importing that module pulls in more of
    the standard library into every fork server than the finder needs.)
    """

    def __init__(self, blocked):
        self.blocked = blocked

    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in self.blocked):
            raise ImportError(NUMPY_ONLY_REASON.format(name=name))
        return None


def blocked_for(allow=()) -> tuple[str, ...]:
    """``BLOCKED`` but for the modules in ``allow`` (preloaded for an assignment, e.g. Keras,
    which comes with TensorFlow, its backend)."""
    allow = set(allow)
    if allow & set(HEAVY):
        allow |= set(HEAVY)
    return tuple(b for b in BLOCKED if b not in allow)


def block_imports(blocked=BLOCKED) -> None:
    """Forget and refuse the modules in ``blocked``; ``course.check`` becomes a no-op.

    The fork server calls it once, before forking, so no child walks ``sys.modules`` (which
    would copy most of the server's pages).
    """
    for name in list(sys.modules):
        if any(name == b or name.startswith(b + ".") for b in blocked):
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                sys.modules[parent].__dict__.pop(child, None)
            del sys.modules[name]
    sys.meta_path.insert(0, _Blocker(blocked))
    for name in HEAVY:
        if name in blocked:
            sys.modules[name] = _Unavailable(name)
    import course

    course.check = lambda *args, **kwargs: None  # self-check cells are harmless no-ops here


def read(path: str) -> source.Definitions | str:
    """The submission's definitions, or why it can't be read (runs before privileges drop)."""
    try:
        return source.load_definitions(path)
    except source.SubmissionError as e:
        return str(e)
    except Exception as e:
        return f"could not read the submission: {calls.safe_str(e)}"


def inject(namespace: dict, sources: dict[str, str]) -> None:
    """Put correct versions of the graded functions this one calls into the student's namespace."""
    if not sources:
        return
    reference = {"__name__": "__reference__", "__builtins__": builtins}
    exec(compile("\n\n".join(sources.values()), "<reference callees>", "exec"), reference)
    for name in sources:
        if name in reference:
            namespace[name] = reference[name]


def resolve(dotted: str):
    """The function ``"package.module:name"`` (an exercise's adapter, from the student-side package)."""
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


def copy_artifact(submission: str, name: str, workdir: str) -> str:
    """Copy the submission's artifact ``name`` into the child's workdir; returns the copy's path.

    Runs before privileges drop, so the sandbox user can read the copy but not the original.

    Raises:
        FileNotFoundError: missing, not a regular file, a symbolic link or too big (the message says which).
    """
    path = os.path.join(os.path.dirname(submission), name)
    if os.path.islink(path):
        raise FileNotFoundError(f"{name} is a symbolic link; submit the file itself")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{name} is missing from the submission: save your model next to the "
                                f"notebook with model.save(\"{name}\")")
    if os.path.getsize(path) > MAX_ARTIFACT_BYTES:
        raise FileNotFoundError(f"{name} is {os.path.getsize(path):,} bytes; at most {MAX_ARTIFACT_BYTES:,} are accepted")
    copy = os.path.join(workdir, name)
    shutil.copyfile(path, copy)
    return copy


def grade_function(namespace: dict, spec: dict, sources: dict[str, str]) -> dict:
    """Call ``spec["name"]`` on each of ``spec["cases"]``, with the correct callees ``sources`` in place.

    With ``spec["adapter"]`` (``"module:function"``), each case runs ``adapter(fn, *args)``
    instead: the function returns an object (a Keras model) that the adapter turns into data.
    The correct callees stay in the namespace only while this function is graded: the student's
    own versions are put back afterwards, so a function graded later sees what it would have
    seen in a fresh process.
    """
    name = spec["name"]
    fn = namespace.get(name)
    if fn is None:
        return {"missing": f"{name} is not defined in the submission", "outcomes": []}
    if not callable(fn):
        return {"missing": f"{name} is defined but is a {type(fn).__name__}, not a function", "outcomes": []}
    if spec.get("adapter"):
        fn = functools.partial(resolve(spec["adapter"]), fn)
    saved = {n: namespace[n] for n in sources if n in namespace}
    inject(namespace, sources)
    try:
        outcomes = [o.to_plain() for o in calls.call_each(fn, [(c["args"], c.get("kwargs") or {}) for c in spec["cases"]])]
    finally:
        for n in sources:
            namespace.pop(n, None)
        namespace.update(saved)
    return {"missing": None, "outcomes": outcomes}


def grade_artifact(spec: dict, path: str | None, problem: str) -> dict:
    """Run the adapter on the artifact's copy for each case; no submission code is loaded."""
    if problem:
        return {"missing": problem, "outcomes": []}
    adapter = resolve(spec["adapter"])
    return {"missing": None, "outcomes": [o.to_plain() for o in calls.call_each(
        adapter, [((path, *case["args"]), case.get("kwargs") or {}) for case in spec["cases"]])]}


def _snapshot() -> list[tuple[dict, dict]]:
    """The grading machinery's module dictionaries, to put back after each stage (``_restore``).

    The functions of one submission share a process: without this, one function that patches
    ``builtins.isinstance`` or ``course.codec`` would break the functions graded after it.
    """
    namespaces = [vars(m) for m in (builtins, calls, codec, json)] + [write_fd.__globals__]  # frames's
    return [(live, dict(live)) for live in namespaces]


def _restore(snapshot: list[tuple[dict, dict]]) -> None:
    for live, saved in snapshot:
        for key in live.keys() - saved.keys():
            del live[key]
        live.update(saved)


def _flush() -> None:
    """Push what the submission printed to its output file (``os._exit`` won't)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def _wait_for_go(fd: int) -> dict[str, str] | None:
    """Block until the server lets the next function be graded; returns the correct callees it
    sends along (one frame of JSON), or None with an empty frame."""
    (size,) = HEADER.unpack(_read_exact(fd, HEADER.size))
    return json.loads(_read_exact(fd, size)) if size else None


def _read_exact(fd: int, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        chunk = os.read(fd, size - got)
        if not chunk:
            raise EOFError("the server closed the pipe of correct callees")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def limits_of(job: dict) -> Limits:
    limits = job["limits"]
    return Limits(cpu_seconds=int(job["cpu_seconds"]), memory_bytes=limits["memory"],
                  output_bytes=limits["output"], processes=limits["processes"])


def _copy_artifacts(job: dict, workdir: str, jail: Jail) -> dict[str, tuple[str | None, str]]:
    """Each artifact function's (copy's path, problem), copied while the child is still root."""
    copies = {}
    for spec in job["functions"]:
        if spec.get("artifact"):
            try:
                path = copy_artifact(job["submission"], spec["artifact"], workdir)
                if jail.uid is not None:
                    os.chown(path, jail.uid, jail.uid)
                copies[spec["name"]] = (path, "")
            except OSError as e:
                copies[spec["name"]] = (None, str(e))
    return copies


def child_main(job: dict, result_fd: int, workdir: str, jail: Jail, control_fd: int | None = None) -> None:
    """The whole life of a sandboxed child; never returns.

    ``job``: ``submission`` (path), ``functions`` (``[{name, cases, timeout, inject_names,
    adapter, artifact}]`` in grading order, callees before their callers), ``limits`` and
    ``cpu_seconds``. Writes one frame to ``result_fd`` once the definitions are loaded
    (``{notes, fatal}``), then one per function (``{missing, outcomes}``), each only once the
    server has said go on ``control_fd`` (after checking what the previous stage left running).
    A function with ``inject_names`` is graded with the correct versions of those callees, which
    come with its go-ahead (a function may also carry them inline as ``inject``, for one-off
    requests). When every function is an artifact, the submission's code is never read.
    """
    status = 0
    server = os.getppid()
    try:
        set_name("grader-student")  # where the student's code runs, in ``top``
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the server's own handler is not the child's
        os.setsid()
        os.chdir(workdir)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        out = os.open(os.path.join(workdir, "output.txt"), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        os.dup2(out, 1)
        os.dup2(out, 2)
        if jail.uid is not None:
            os.fchown(1, jail.uid, jail.uid)
        copies = _copy_artifacts(job, workdir, jail)  # before the file-size limit, which is for the output
        limits = limits_of(job)
        set_limits(limits)  # parsing a hostile file is bounded too
        code = any(not spec.get("artifact") for spec in job["functions"])
        defs = read(job["submission"]) if code else None  # as root, before the filesystem is closed off
        jail.enter(limits, workdir=workdir, keep_fds=tuple(fd for fd in (result_fd, control_fd) if fd is not None),
                   server=server)
        if not any(isinstance(finder, _Blocker) for finder in sys.meta_path):
            block_imports()  # the server does it before forking; without a server, block everything
        if isinstance(defs, str):
            write_fd(result_fd, codec.encode({"notes": [], "fatal": defs}))
            for _ in job["functions"]:  # nothing to grade; the parent reports ``fatal``
                write_fd(result_fd, codec.encode({"missing": None, "outcomes": []}))
            return
        machinery = _snapshot()
        namespace, notes = source.execute(defs) if code else ({}, [])
        _restore(machinery)
        _flush()
        write_fd(result_fd, codec.encode({"notes": notes, "fatal": None}))
        for spec in job["functions"]:
            sent = _wait_for_go(control_fd) if control_fd is not None else None
            sources = {}
            if spec.get("artifact"):
                result = grade_artifact(spec, *copies[spec["name"]])
            else:
                sources = sent if sent is not None else spec.get("inject") or {}
                result = grade_function(namespace, spec, sources)
            del sent, sources  # a correct callee must not outlive its caller's grading
            _restore(machinery)
            _flush()
            write_fd(result_fd, codec.encode_parts(result))
    except BaseException:
        status = 70
    finally:
        os._exit(status)


REHEARSAL = "def {name}(*args, **kwargs):\n    return args[0] if args else None\n"
REHEARSAL_BYTES = 2**20
"""the most case data a function is rehearsed with (A4's training data is not copied 12 times)"""


def rehearse(functions: list[dict], folder: str, rounds: int = 12) -> None:
    """Grade a trusted stand-in submission a few times in this (server) process, before any fork.

    Every child runs the same grading code on its first submission: reading and parsing the
    file, the calls, ``course.codec``. Run here once, that code's bytecode is specialised and
    its caches filled in the server's pages, which children share, instead of in every child,
    where each page written costs a copy-on-write fault. Only code of ours runs: each graded
    function is replaced by one that returns its first argument, and called on its first cases
    (``REHEARSAL_BYTES`` of them).
    """
    specs = [{**s, "cases": _first_cases(s["cases"], REHEARSAL_BYTES)} for s in functions
             if not s.get("adapter") and not s.get("artifact") and str(s["name"]).isidentifier()]
    specs = [s for s in specs if s["cases"]]
    if not specs:
        return
    # a new file of a random name (O_EXCL: never a link a child could have left in ``folder``)
    fd, path = tempfile.mkstemp(prefix="rehearsal-", suffix=".py", dir=folder)
    with os.fdopen(fd, "w") as f:
        f.write("import numpy as np\n\n" + "\n".join(REHEARSAL.format(name=s["name"]) for s in specs))
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for _ in range(rounds):
            grade_here(path, specs, lambda frame: write_fd(devnull, frame))
    finally:
        os.close(devnull)
        os.unlink(path)


def grade_here(path: str, specs: list[dict], emit) -> None:
    """Grade the submission at ``path`` in this process, as a child does (``child_main``) but with
    no jail and no go-aheads: ``emit`` gets each frame a child would write, the load's and then
    one per function of ``specs`` (graded with the callees in its ``inject``, if any). For the
    server's rehearsal, and for ``benchmarks/fork_floor.py``."""
    defs = read(path)
    if isinstance(defs, str):
        emit(codec.encode({"notes": [], "fatal": defs}))
        for _ in specs:
            emit(codec.encode({"missing": None, "outcomes": []}))
        return
    machinery = _snapshot()
    namespace, notes = source.execute(defs)
    _restore(machinery)
    emit(codec.encode({"notes": notes, "fatal": None}))
    for spec in specs:
        emit(codec.encode_parts(grade_function(namespace, spec, spec.get("inject") or {})))
        _restore(machinery)


def _first_cases(cases: list[dict], limit: int) -> list[dict]:
    """The first cases whose arrays together take at most ``limit`` bytes."""
    import numpy as np

    def size(value) -> int:
        if isinstance(value, np.ndarray):
            return value.nbytes
        if isinstance(value, (list, tuple)):
            return sum(size(v) for v in value)
        if isinstance(value, dict):
            return sum(size(v) for v in value.values())
        return 8

    taken, total = [], 0
    for case in cases:
        total += size(case.get("args")) + size(case.get("kwargs"))
        if total > limit:
            break
        taken.append(case)
    return taken


def probe_main(modules: list[str], files: list[str], result_fd: int, workdir: str, jail: Jail, limits: Limits) -> None:
    """A confined child that runs no submission code: can it import ``modules`` and read ``files``?

    Tells a grader fault from a student's doing (``grader.sandbox.faults``): writes one frame,
    ``{name or path: "" when it worked, else the error}``. Never returns.
    """
    status = 0
    server = os.getppid()
    try:
        set_name("grader-probe")
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.setsid()
        os.chdir(workdir)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        jail.enter(limits, workdir=workdir, keep_fds=(result_fd,), server=server)
        found = {}
        for name in modules:
            try:
                importlib.import_module(name)
                found[name] = ""
            except BaseException as e:
                found[name] = calls.safe_str(e, 300)
        for path in files:
            try:
                with open(path, "rb") as f:
                    f.read(1)
                found[path] = ""
            except BaseException as e:
                found[path] = calls.safe_str(e, 300)
        write_fd(result_fd, codec.encode(found))
    except BaseException:
        status = 70
    finally:
        os._exit(status)
