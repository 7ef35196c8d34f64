"""A graded function's body, normalised: what stays the same when a copy is disguised.

``normalise(fn)`` drops the docstring and what cannot change the result (``pass``, bare constants
and ``print`` calls, ``if False:`` blocks, assignments to names nothing reads), then returns the
syntax tree twice as text: with the names as written, and with local names numbered in order of
appearance (``v0``, ``v1``, ...), so renaming every variable changes nothing. Dead code is removed
statement by statement (not inside expressions): enough for the padding copiers add, not a
compiler.
"""
from __future__ import annotations

import ast
import builtins

KEEP = frozenset(dir(builtins)) | {"np", "numpy", "self"}
"""names left as they are: they mean the same thing in every submission"""


class _Renumber(ast.NodeTransformer):
    """Local names -> v0, v1, ... in order of appearance; annotations dropped."""

    def __init__(self, keep: frozenset[str]):
        self.keep, self.names = keep, {}

    def _new(self, name: str) -> str:
        return name if name in self.keep else self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node):
        node.id = self._new(node.id)
        return node

    def visit_arg(self, node):
        node.arg = self._new(node.arg)
        node.annotation = None
        return node


def _inert(stmt: ast.stmt) -> bool:
    """A statement that cannot change what the function returns (as copiers pad with)."""
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr):
        v = stmt.value
        return isinstance(v, ast.Constant) or (isinstance(v, ast.Call) and isinstance(v.func, ast.Name)
                                               and v.func.id == "print")
    if isinstance(stmt, ast.If) and isinstance(stmt.test, ast.Constant) and not stmt.test.value:
        return not stmt.orelse
    return False


def _written(stmt: ast.stmt) -> set[str] | None:
    """The names a plain assignment writes, or None for any other statement."""
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
        targets = [stmt.target]
    else:
        return None
    names = set()
    for t in targets:
        if not isinstance(t, ast.Name):
            return None  # a[i] = ... changes something that may be read
        names.add(t.id)
    return names


def _prune(body: list[ast.stmt]) -> list[ast.stmt]:
    """Drop inert statements and assignments to names no other statement reads, until none is left."""
    body = [s for s in body if not _inert(s)]
    for s in body:
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(s, field, None)
            if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                setattr(s, field, _prune(inner) or [ast.Pass()])
    while True:
        reads: dict[int, set[str]] = {
            i: {n.id for n in ast.walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            for i, s in enumerate(body)}
        dead = set()
        for i, s in enumerate(body):
            written = _written(s)
            if written and not any(written & r for j, r in reads.items() if j != i and j not in dead):
                dead.add(i)
        if not dead:
            return body
        body = [s for i, s in enumerate(body) if i not in dead]


def normalise(fn: ast.FunctionDef | ast.AsyncFunctionDef, keep: frozenset[str] = KEEP) -> tuple[str, str]:
    """(the body with names as written, the body with local names numbered), as text.

    ``keep``: names not renumbered (builtins, ``np``, the graded functions a function may call).
    ``fn`` is modified.
    """
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    fn.body = _prune(body) or [ast.Pass()]
    fn.decorator_list, fn.returns = [], None
    named = ast.dump(fn, annotate_fields=False)
    fn.name = "f"
    return named, ast.dump(_Renumber(keep).visit(fn), annotate_fields=False)
