"""What a sandboxed child does: load a submission's definitions once, then grade its functions.

Runs after ``fork`` in the fork server, as an unprivileged user when the grader is root, with
rlimits in place. It sees the case *inputs* only; answers never reach this process. Functions
are graded in the order given (callees before their callers), each result going back as one
``course.codec`` frame on a pipe, which the trusted side decodes without pickle.
"""
from __future__ import annotations

import builtins
import ctypes
import json
import os
import resource
import signal
import sys

from course import calls, codec, source
from grader.sandbox.frames import HEADER, write_fd

# Modules that hold answers, hints or grading logic: a submission may not import them.
BLOCKED = ("grader", "course.exercises", "course.judge", "course.selfcheck", "course.fixtures",
           "course.compare", "solutions", "tensorflow", "keras")
PR_SET_PDEATHSIG = 1
NUMPY_ONLY_REASON = "{name} can't be imported while grading: this exercise is NumPy only"


class _Blocker:
    """A ``sys.meta_path`` finder that refuses the blocked modules.

    (Not an ``importlib.abc.MetaPathFinder`` subclass: importing that module pulls in ``random``,
    whose at-fork reseeding would cost every child a quarter of a millisecond.)
    """

    def __init__(self, blocked):
        self.blocked = blocked

    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in self.blocked):
            raise ImportError(NUMPY_ONLY_REASON.format(name=name))
        return None


def block_imports(blocked=BLOCKED) -> None:
    """Forget and refuse the modules in ``blocked``; ``course.check`` becomes a no-op."""
    for name in list(sys.modules):
        if any(name == b or name.startswith(b + ".") for b in blocked):
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                sys.modules[parent].__dict__.pop(child, None)
            del sys.modules[name]
    sys.meta_path.insert(0, _Blocker(blocked))
    import course

    course.check = lambda *args, **kwargs: None  # self-check cells are harmless no-ops here


def blocked_for(allow=()) -> tuple[str, ...]:
    """``BLOCKED`` but for the modules in ``allow`` (preloaded for an assignment, e.g. Keras,
    which comes with TensorFlow, its backend)."""
    allow = set(allow)
    if allow & {"keras", "tensorflow"}:
        allow |= {"keras", "tensorflow"}
    return tuple(b for b in BLOCKED if b not in allow)


def set_limits(*, cpu_seconds: int, memory_bytes: int, output_bytes: int, processes: int) -> None:
    limits = {
        resource.RLIMIT_CPU: (cpu_seconds, cpu_seconds + 1),
        resource.RLIMIT_AS: (memory_bytes, memory_bytes),
        resource.RLIMIT_FSIZE: (output_bytes, output_bytes),
        resource.RLIMIT_NOFILE: (64, 64),
        resource.RLIMIT_CORE: (0, 0),
        resource.RLIMIT_NPROC: (processes, processes),
    }
    for which, value in limits.items():
        try:
            resource.setrlimit(which, value)
        except (ValueError, OSError):
            pass  # a limit this OS or user can't lower; the wall-clock timeout still applies


def drop_privileges(uid: int | None) -> None:
    if uid is None or os.geteuid() != 0:
        return
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


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


def run(request: dict, defs: source.Definitions | str) -> dict:
    """Load, then call ``request["function"]`` on each case; returns plain data (one function)."""
    if isinstance(defs, str):
        return {"notes": [], "fatal": defs, "missing": None, "outcomes": []}
    namespace, notes = source.execute(defs)
    spec = {"name": request["function"], "cases": request["cases"]}
    return {"notes": notes, "fatal": None, **grade_function(namespace, spec, request.get("inject") or {})}


def grade_function(namespace: dict, spec: dict, sources: dict[str, str]) -> dict:
    """Call ``spec["name"]`` on each of ``spec["cases"]``, with the correct callees ``sources`` in place.

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
    saved = {n: namespace[n] for n in sources if n in namespace}
    inject(namespace, sources)
    try:
        outcomes = [calls.call(fn, case["args"], case.get("kwargs") or {}).to_plain() for case in spec["cases"]]
    finally:
        for n in sources:
            namespace.pop(n, None)
        namespace.update(saved)
    return {"missing": None, "outcomes": outcomes}


def die_with(parent: int) -> None:
    """Be killed if the fork server dies (Linux), so a child never outlives it.

    Set after the privileges drop, which clears it; if the server is already gone, exit now.
    """
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:
        os._exit(71)


def _flush() -> None:
    """Push what the submission printed to its output file (``os._exit`` won't)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def _read_sources(fd: int) -> dict[str, str]:
    """The correct callees the server sends (one frame of JSON) right before their caller is graded."""
    head = _read_exact(fd, HEADER.size)
    (size,) = HEADER.unpack(head)
    return json.loads(_read_exact(fd, size))


def _read_exact(fd: int, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        chunk = os.read(fd, size - got)
        if not chunk:
            raise EOFError("the server closed the pipe of correct callees")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def child_main(job: dict, result_fd: int, workdir: str, uid: int | None, inject_fd: int | None = None) -> None:
    """The whole life of a sandboxed child; never returns.

    ``job``: ``submission`` (path), ``functions`` (``[{name, cases, timeout, inject_names}]``
    in grading order, callees before their callers), ``limits``, ``cpu_seconds`` and ``allow``
    (preloaded modules the submission may use). Writes one frame to ``result_fd`` once the
    definitions are loaded (``{notes, fatal}``), then one per function (``{missing, outcomes}``).
    A function with ``inject_names`` is graded with the correct versions of those callees, which
    the server sends on ``inject_fd`` only once everything graded before it is done (a function
    may still carry them inline as ``inject``, for one-off requests).
    """
    status = 0
    server = os.getppid()
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the server's own handler is not the child's
        os.setsid()
        os.chdir(workdir)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        out = os.open(os.path.join(workdir, "output.txt"), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        os.dup2(out, 1)
        os.dup2(out, 2)
        # nothing of the server's (its pipes to the parent, other children's) stays reachable
        keep = sorted(fd for fd in (result_fd, inject_fd) if fd is not None)
        start = 3
        for fd in keep:
            os.closerange(start, fd)
            start = fd + 1
        os.closerange(start, 1 << 16)
        if uid is not None and os.geteuid() == 0:
            os.fchown(1, uid, uid)
        limits = job["limits"]
        set_limits(cpu_seconds=int(job["cpu_seconds"]), memory_bytes=limits["memory"],
                   output_bytes=limits["output"], processes=limits["processes"])
        defs = read(job["submission"])
        drop_privileges(uid)
        die_with(server)
        if not any(isinstance(finder, _Blocker) for finder in sys.meta_path):
            block_imports(blocked_for(job.get("allow") or ()))  # the server usually did it already
        if isinstance(defs, str):
            write_fd(result_fd, codec.encode({"notes": [], "fatal": defs}))
            for _ in job["functions"]:  # nothing to grade; the parent reports ``fatal``
                write_fd(result_fd, codec.encode({"missing": None, "outcomes": []}))
        else:
            namespace, notes = source.execute(defs)
            _flush()
            write_fd(result_fd, codec.encode({"notes": notes, "fatal": None}))
            for spec in job["functions"]:
                sources = spec.get("inject") or {}
                if spec.get("inject_names") and inject_fd is not None:
                    sources = _read_sources(inject_fd)
                result = grade_function(namespace, spec, sources)
                del sources
                _flush()
                write_fd(result_fd, codec.encode(result))
    except BaseException:
        status = 70
    finally:
        os._exit(status)
