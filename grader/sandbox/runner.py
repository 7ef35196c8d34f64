"""What a sandboxed child does: load a submission's definitions, call one function on its cases.

Runs after ``fork`` in the fork server, confined by ``grader.sandbox.jail`` (rlimits, an
unprivileged uid when the grader is root, a filesystem allow-list, no network). It sees the
case *inputs* only; answers never reach this process. Its result goes back as ``course.codec``
bytes on a pipe, which the trusted side decodes without pickle.
"""
from __future__ import annotations

import builtins
import functools
import importlib
import importlib.abc
import os
import shutil
import sys
import types

from course import calls, codec, source
from grader.sandbox.jail import Jail, Limits, set_limits

# Modules that hold answers, hints or grading logic: a submission may not import them.
BLOCKED = ("grader", "course.exercises", "course.judge", "course.selfcheck", "course.fixtures",
           "course.compare", "solutions", "tensorflow", "keras")
NUMPY_ONLY_REASON = "{name} can't be imported while grading: this exercise is NumPy only"
HEAVY = ("tensorflow", "keras")
"""blocked unless a request allows them; a plain ``import keras`` then gets a placeholder module
(so a notebook that imports Keras for one exercise still loads for its NumPy-only ones), and any
use of it raises ImportError"""
MAX_ARTIFACT_BYTES = 64 * 2**20


class _Unavailable(types.ModuleType):
    """What ``import keras`` gives a NumPy-only exercise: any use raises ImportError."""

    __path__: list = []  # a package, so `import keras.layers` asks the blocker (and gets its message)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise ImportError(NUMPY_ONLY_REASON.format(name=f"{self.__name__}.{attr}"))


class _Blocker(importlib.abc.MetaPathFinder):
    def __init__(self, blocked):
        self.blocked = blocked

    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in self.blocked):
            raise ImportError(NUMPY_ONLY_REASON.format(name=name))
        return None


def blocked_modules(allow=()) -> tuple[str, ...]:
    """``BLOCKED`` minus the heavy modules a request allows (e.g. ``("keras", "tensorflow")``)."""
    return tuple(b for b in BLOCKED if not (b in HEAVY and b in allow))


def block_imports(blocked=BLOCKED) -> None:
    """Forget and refuse the modules in ``blocked``; ``course.check`` becomes a no-op."""
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
    """The function ``"package.module:name"``; imported before the blocker is in place."""
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


def run_artifact(request: dict, path: str | None, problem: str) -> dict:
    """Run the adapter on the artifact's copy for each case; no submission code is loaded."""
    result = {"notes": [], "fatal": None, "missing": problem or None, "outcomes": []}
    if problem:
        return result
    adapter = request["adapter_fn"]
    for case in request["cases"]:
        result["outcomes"].append(calls.call(adapter, (path, *case["args"]), case.get("kwargs") or {}).to_plain())
    return result


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
    if request.get("adapter_fn") is not None:  # the function returns an object: the adapter turns it into data
        fn = functools.partial(request["adapter_fn"], fn)
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
        artifact, problem, defs, path = request.get("artifact"), "", None, None
        if artifact:  # copied before the file-size limit, which is for the child's own output
            try:
                path = copy_artifact(request["submission"], artifact, workdir)
                if jail.uid is not None:
                    os.chown(path, jail.uid, jail.uid)
            except OSError as e:
                path, problem = None, str(e)
        limits = limits_of(request)
        set_limits(limits)  # parsing a hostile file is bounded too
        if not artifact:
            defs = read(request["submission"])  # as root, before the filesystem is closed off
        request["adapter_fn"] = resolve(request["adapter"]) if request.get("adapter") else None
        jail.enter(limits, workdir=workdir, keep_fds=(result_fd,))
        block_imports(blocked_modules(request.get("allow") or ()))
        payload = codec.encode(run_artifact(request, path, problem) if artifact else run(request, defs))
        with os.fdopen(result_fd, "wb") as pipe:
            pipe.write(payload)
    except BaseException:
        status = 70
    finally:
        os._exit(status)
