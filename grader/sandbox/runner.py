"""What a sandboxed child does: load a submission's definitions, call one function on its cases.

Runs after ``fork`` in the fork server, confined by ``grader.sandbox.jail`` (rlimits, an
unprivileged uid when the grader is root, a filesystem allow-list, no network). It sees the
case *inputs* only; answers never reach this process. Its result goes back as ``course.codec``
bytes on a pipe, which the trusted side decodes without pickle.
"""
from __future__ import annotations

import builtins
import importlib.abc
import os
import sys

from course import calls, codec, source
from grader.sandbox.jail import Jail, Limits, set_limits

# Modules that hold answers, hints or grading logic: a submission may not import them.
BLOCKED = ("grader", "course.exercises", "course.judge", "course.selfcheck", "course.fixtures",
           "course.compare", "solutions", "tensorflow", "keras")
NUMPY_ONLY_REASON = "{name} can't be imported while grading: this exercise is NumPy only"


class _Blocker(importlib.abc.MetaPathFinder):
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
    """Load, then call ``request["function"]`` on each case; returns plain data."""
    if isinstance(defs, str):
        return {"notes": [], "fatal": defs, "missing": None, "outcomes": []}
    namespace, notes = source.execute(defs)
    result = {"notes": notes, "fatal": None, "missing": None, "outcomes": []}
    name = request["function"]
    fn = namespace.get(name)
    if fn is None:
        result["missing"] = f"{name} is not defined in the submission"
        return result
    if not callable(fn):
        result["missing"] = f"{name} is defined but is a {type(fn).__name__}, not a function"
        return result
    inject(namespace, request.get("inject") or {})
    for case in request["cases"]:
        result["outcomes"].append(calls.call(fn, case["args"], case.get("kwargs") or {}).to_plain())
    return result


def limits_of(request: dict) -> Limits:
    limits = request["limits"]
    return Limits(cpu_seconds=int(request["timeout"]) + 2, memory_bytes=limits["memory"],
                  output_bytes=limits["output"], processes=limits["processes"])


def child_main(request: dict, result_fd: int, workdir: str, jail: Jail) -> None:
    """The whole life of a sandboxed child; never returns."""
    status = 0
    try:
        os.setsid()
        os.chdir(workdir)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        out = os.open(os.path.join(workdir, "output.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, 1)
        os.dup2(out, 2)
        if jail.uid is not None:
            os.fchown(out, jail.uid, jail.uid)
        limits = limits_of(request)
        set_limits(limits)  # parsing a hostile file is bounded too
        defs = read(request["submission"])  # as root, before the filesystem is closed off
        jail.enter(limits, workdir=workdir, keep_fds=(result_fd,))
        block_imports()
        payload = codec.encode(run(request, defs))
        with os.fdopen(result_fd, "wb") as pipe:
            pipe.write(payload)
    except BaseException:
        status = 70
    finally:
        os._exit(status)
