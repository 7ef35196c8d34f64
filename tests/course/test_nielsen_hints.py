"""Code written the way Nielsen's book writes it gets a named hint, and the hint's advice fixes it.

``nielsen_corpus.py`` holds book-style ports of the course's functions (written for these tests);
each goes through the self-check (``check``), which must show the expected hints one after the
other, each message containing the line that the next fix writes, until the function passes.
``test_the_books_own_network_py`` does the same with the book's real ``src/network.py`` when
``NIELSEN_NETWORK_PY`` names a copy of it (it is not in this repository), and skips otherwise.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from course import exercises
from course.calls import safe_str
from course.exercises import nielsen
from course.exercises.shapes import shape_error
from course.selfcheck import CheckFailed, check, line, run_check
from grader.authoring import solutions

HERE = Path(__file__).parent


def _module(name: str):
    """A helper module of this folder (pytest imports test files by path, not as a package)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


corpus = _module("nielsen_corpus")
book = _module("nielsen_book")


def namespace(assignment_id: str, overrides: dict[str, str]) -> dict:
    """A student's notebook as the self-check sees it: the solution's definitions, some replaced."""
    imports, constants, functions = solutions.program_sources(solutions.notebook_path(assignment_id))
    program = "\n".join(i for i in imports if "keras" not in i)  # build_model is not run here
    program += "\n" + "\n".join(constants) + "\n\n" + "\n\n".join({**functions, **overrides}.values())
    ns: dict = {"__name__": "student"}
    exec(compile(program, f"<{assignment_id}>", "exec"), ns)
    return ns


def _raise(expression):
    try:
        expression()
    except Exception as e:
        return safe_str(e)
    raise AssertionError("expected NumPy to refuse these shapes")


W, batch, b = np.ones((16, 784)), np.ones((8, 784)), np.ones(16)


@pytest.mark.parametrize("expression, kind, shapes, sizes", [
    (lambda: np.dot(W, batch), "not_aligned", ((16, 784), (8, 784)), ()),
    (lambda: np.dot(W, batch.T) + b, "broadcast", ((16, 8), (16,)), ()),
    (lambda: W @ batch, "matmul", (), (8, 784)),
    (lambda: np.dot(np.ones(10), np.ones(16)), "not_aligned", ((10,), (16,)), ()),
    (lambda: np.float64(2.0) @ W.T, "scalar_matmul", (), ()),
    (lambda: np.ones((10, 16)) + np.ones((10, 1)).T, "broadcast", ((10, 16), (1, 10)), ()),
], ids=["dot", "broadcast", "matmul", "dot_1d", "scalar_matmul", "broadcast_2d"])
def test_shape_error_reads_numpys_own_messages(expression, kind, shapes, sizes):
    err = shape_error(_raise(expression))
    assert (err.kind, err.shapes, err.sizes) == (kind, shapes, sizes)


def test_shape_error_ignores_other_exceptions():
    assert shape_error("TypeError: unsupported operand") is None
    assert shape_error("ValueError: math domain error") is None
    assert shape_error(None) is None


def test_every_book_hint_is_exercised_by_the_corpus():
    named = {h.name for a in exercises.IDS for ex in exercises.assignment(a).exercises for h in ex.hints
             if "Nielsen" in h.message}
    used = {step.hint for entry in corpus.ENTRIES for step in entry.steps}
    assert named <= used, f"no corpus entry shows {sorted(named - used)}"


def _fix_until_it_passes(function: str, source: str, assignment_id: str, program, steps):
    """Check, expect each step's hint, apply its fix; the function passes at the end.

    ``program(source) -> namespace``; ``steps(hint_name) -> Fix`` or a sequence of fixes in order.
    Returns the hints shown, in order.
    """
    shown = []
    for _ in range(8):
        fn = program(source)[function]
        result = run_check(function, fn)
        if result.passed:
            check(function, fn)  # the notebook's check cell passes silently too
            return shown
        hint = result.hint
        assert hint is not None, f"{function} fails with no hint: {line(result)}"
        with pytest.raises(CheckFailed) as failed:
            check(function, fn)
        assert hint.message in str(failed.value)  # the self-check shows the hint
        fix = steps(hint.name, len(shown))
        assert fix is not None and fix.hint == hint.name, f"{function}: unexpected hint {hint.name}: {line(result)}"
        fixed = book.apply(fix, source)
        assert fixed != source, f"the fix for {hint.name} changed nothing"
        assert fix.says in hint.message and (fix.says in fixed or not fix.code), \
            f"{hint.name}'s advice is not the fix applied"
        shown.append(hint.name)
        source = fixed
    raise AssertionError(f"{function} still fails after {shown}")


@pytest.mark.parametrize("entry", corpus.ENTRIES, ids=[e.name for e in corpus.ENTRIES])
def test_each_book_idiom_shows_its_hint_and_the_hint_fixes_it(entry):
    def program(source):  # the helpers (the student's own callees) after the function, as a notebook's later cell
        return namespace(entry.assignment, {entry.function: source + "\n\n" + entry.helpers})

    def step(name, i):
        return entry.steps[i] if i < len(entry.steps) else None

    shown = _fix_until_it_passes(entry.function, entry.source, entry.assignment, program, step)
    assert shown == [s.hint for s in entry.steps]


def test_python_2_syntax_becomes_python_3():
    old = 'for j in xrange(3):\n    if j:\n        print "Epoch {0}: {1}".format(\n            j, 2)\n    print "done"\n'
    assert book.python3(old) == ('for j in range(3):\n    if j:\n        print("Epoch {0}: {1}".format(\n'
                                 '            j, 2))\n    print("done")\n')


@pytest.mark.skipif(not os.environ.get("NIELSEN_NETWORK_PY"),
                    reason="set NIELSEN_NETWORK_PY to the book's src/network.py to run it through the hints")
def test_the_books_own_network_py(capsys):
    """Every function of the adapted network.py passes, or fails with hints whose fixes make it pass."""
    adapted = book.adapt(Path(os.environ["NIELSEN_NETWORK_PY"]).read_text())

    def program(source):
        ns = {"__name__": "network"}
        with warnings.catch_warnings():  # its docstrings' "\partial" is an invalid escape in Python 3
            warnings.simplefilter("ignore", (DeprecationWarning, SyntaxWarning))
            code = compile(source, "network.py", "exec")
        exec(code, ns)
        return ns

    report = {}
    for function, assignment_id in book.FUNCTIONS.items():
        report[function] = _fix_until_it_passes(function, adapted, assignment_id, program,
                                                lambda name, i: book.FIXES.get(name))
    with capsys.disabled():
        for function, shown in report.items():
            print(f"\n  network.py {function}: {' -> '.join(shown) + ' -> passes' if shown else 'passes as is'}", end="")
        print()
