"""Tell a grader fault from a student's mistake: a module the grader lets children import, failing.

A submission's child that cannot import ``course.plots``, NumPy, the standard library or (in the
Keras server) TensorFlow, or cannot read a file of those packages, has hit a broken sandbox, not
a mistake of the student's; grading it would silently cost an honest student points. The reply
only says what the child said, and a submission can print any error it likes, so each suspect
is checked again, once per run, by a confined child that runs no submission code at all
(``Sandbox.probe``): only when that child fails too is it a grader fault.
"""
from __future__ import annotations

import importlib.machinery
import os
import re
import sys
from typing import Callable, Iterable

from grader.sandbox import reach

GRANTED = (*reach.NEEDED, "matplotlib")
"""packages every child may import (besides the standard library)"""
GRANTED_WITH = {"keras": ("keras", "jax", "tensorflow"), "tensorflow": ("tensorflow",)}
"""and those a server that preloaded them (``needs``) grants its children"""
_MODULE = re.compile(r"No module named '([\w.]+)'|cannot import name '(\w+)' from (?:partially initialized module )?'([\w.]+)'")
_FILE = re.compile(r"Permission denied: '(/[^']+)'|(/[^\s:'\"]+): cannot open shared object file")


def granted(module: str, needs: tuple[str, ...] = ()) -> bool:
    """Whether the grader lets children of a server preloading ``needs`` import ``module``, and it
    exists here (a module that is really missing is the submission's business)."""
    from grader.sandbox.runner import blocked_for

    top = module.split(".")[0]
    allowed = {*GRANTED, *(m for n in needs for m in GRANTED_WITH.get(n, ()))}
    if top not in allowed and top not in sys.stdlib_module_names:
        return False
    if any(module == b or module.startswith(b + ".") for b in blocked_for(needs)):
        return False
    return _exists(module)


def _exists(module: str) -> bool:
    """Whether ``module`` is on disk, found without importing it (nor its packages)."""
    top, *rest = module.split(".")
    places = reach.module_locations([top]).get(top, [])
    if not rest:
        return bool(places) or top in sys.builtin_module_names
    suffixes = importlib.machinery.all_suffixes()
    for place in places:
        path = os.path.join(place, *rest)
        if os.path.isdir(path) or any(os.path.isfile(path + s) for s in suffixes):
            return True
    return False


def granted_file(path: str, roots: list[str], hidden: list[str]) -> bool:
    """Whether ``path`` lies in a tree of Python code children may read (``roots``, not ``hidden``)."""
    real = os.path.realpath(path)
    inside = lambda top: real == top or real.startswith(top.rstrip("/") + "/")  # noqa: E731
    return any(inside(r) for r in roots) and not any(inside(h) for h in hidden)


def messages(reply: dict) -> Iterable[tuple[str, str]]:
    """(function name or "", text) for every error a decoded reply carries (``client.decode_reply``)."""
    load = reply.get("load") or {}
    data = load.get("data") if isinstance(load.get("data"), dict) else {}
    for note in data.get("notes") or []:
        yield "", str(note)
    if isinstance(data.get("fatal"), str):
        yield "", data["fatal"]
    for stage in reply.get("functions") or []:
        name = str(stage.get("name"))
        yield name, str(stage.get("detail") or "")
        result = stage.get("data") if isinstance(stage.get("data"), dict) else {}
        if isinstance(result.get("missing"), str):
            yield name, result["missing"]
        for outcome in result.get("outcomes") or []:
            if isinstance(outcome, dict) and isinstance(outcome.get("error"), str):
                yield name, outcome["error"]


def suspects(text: str) -> tuple[list[str], list[str]]:
    """(modules, files) an error message says could not be imported or read."""
    modules, files = [], []
    for missing, name, package in _MODULE.findall(text):
        modules.append(missing or f"{package}.{name}")
    for denied, library in _FILE.findall(text):
        files.append(denied or library)
    return modules, files


class Checker:
    """Finds grader faults in replies; probes each suspect once per run.

    Args:
        probe: ``probe(needs, modules, files) -> {name or path: "" or error}``, a confined child
            of a server preloading ``needs`` that runs no submission code (``Sandbox.probe``).
    """

    def __init__(self, probe: Callable[[tuple[str, ...], list[str], list[str]], dict[str, str]]):
        self._probe = probe
        self.verdicts: dict[tuple[tuple[str, ...], str], str] = {}
        roots = reach.readable_roots(GRANTED)
        self.code_roots = [r for r in roots if not r.startswith(reach.SYSTEM_ROOTS)]
        from grader.sandbox.jail import hidden_paths

        self.hidden = {needs: hidden_paths(tuple(m for n in needs for m in GRANTED_WITH.get(n, ())))
                       for needs in ((), ("keras",))}

    def fault(self, reply: dict, needs_of: dict[str, tuple[str, ...]]) -> str:
        """Why the reply shows a grader fault (empty when it does not).

        Args:
            needs_of: each function's ``needs`` (which kind of server graded it); "" is the load.
        """
        for function, text in messages(reply):
            needs = tuple(needs_of.get(function, ()))
            modules, files = suspects(text)
            modules = [m for m in modules if granted(m, needs)]
            hidden = self.hidden.get(needs) or self.hidden[()]
            files = [f for f in files if granted_file(f, self.code_roots, hidden)]
            for target, error in self._check(needs, modules, files).items():
                if error:
                    what = "import" if target in modules else "read"
                    return (f"the sandbox could not {what} {target}, which the grader lets every submission "
                            f"use ({error}); a child that ran no submission code failed the same way, so this "
                            "is the grader's installation, not the student's work")
        return ""

    def _check(self, needs: tuple[str, ...], modules: list[str], files: list[str]) -> dict[str, str]:
        todo_m = [m for m in dict.fromkeys(modules) if (needs, m) not in self.verdicts]
        todo_f = [f for f in dict.fromkeys(files) if (needs, f) not in self.verdicts]
        if todo_m or todo_f:
            for target, error in self._probe(needs, todo_m, todo_f).items():
                self.verdicts[needs, target] = error
            for target in (*todo_m, *todo_f):
                self.verdicts.setdefault((needs, target), "")
        return {t: self.verdicts[needs, t] for t in (*modules, *files)}


class SandboxProbe:
    """``Checker``'s probe: a fork server of each kind, started on first need, kept for the run."""

    def __init__(self, scratch: str | None = None):
        self.boxes = {}
        self.scratch = scratch

    def __call__(self, needs: tuple[str, ...], modules: list[str], files: list[str]) -> dict[str, str]:
        from grader.sandbox.client import Sandbox

        if needs not in self.boxes:
            self.boxes[needs] = Sandbox(preload=needs, scratch=self.scratch)
        return self.boxes[needs].probe(modules=modules, files=files)

    def close(self) -> None:
        for box in self.boxes.values():
            box.close()
        self.boxes.clear()
