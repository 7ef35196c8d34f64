"""The reference solutions: ``solutions/<id>/<id>.ipynb``, nbgrader *source* notebooks.

They are the one source of truth for each exercise's solution. The grader reads from them the
correct versions of graded functions that another graded function calls (``neuron`` calls
``sigmoid``), so each mistake costs its points once.
"""
from __future__ import annotations

import ast
from pathlib import Path

from course.source import is_definition, notebook_cells, read_text, strip_magics

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
ASSIGNMENTS = ROOT / "assignments"


def notebook_path(assignment_id: str, *, root: Path = SOLUTIONS) -> Path:
    return root / assignment_id / f"{assignment_id}.ipynb"


def _sources(path: Path, skip: tuple[str, ...]) -> tuple[list[str], list[str], dict[str, str]]:
    imports, constants, functions = [], [], {}
    for cell in notebook_cells(read_text(path), path.name):
        code = strip_magics(cell)
        for node in ast.parse(code).body:
            text = ast.get_source_segment(code, node, padded=False)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if not any(n.split(".")[0] in skip for n in names):
                    imports.append(text)
            elif isinstance(node, ast.FunctionDef):
                functions[node.name] = text
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and is_definition(node):
                constants.append(text)
    return imports, constants, functions


def function_sources(path: Path) -> tuple[list[str], dict[str, str]]:
    """(import statements, {function name: source}) of a solution notebook's code cells."""
    imports, _, functions = _sources(path, ("course", "grader", "keras", "tensorflow"))
    return imports, functions


def program_sources(path: Path) -> tuple[list[str], list[str], dict[str, str]]:
    """(imports, constant assignments, {function name: source}): what a ``.py`` version of a
    solution notebook needs to run as a submission (imports of Keras kept, of the course not)."""
    return _sources(path, ("course", "grader"))


def callee_sources(assignment_id: str, names: tuple[str, ...]) -> dict[str, str]:
    """Source of the solution's functions ``names``, each runnable on its own (imports included).

    Each source also carries the solution's other functions that it needs, called directly or
    through each other (``predict`` -> ``feedforward`` -> ``layer_forward`` -> ``sigmoid``), so a
    correct callee never runs into a student's version of a helper.

    Raises:
        KeyError: the solution notebook does not define one of ``names``.
    """
    if not names:
        return {}
    imports, functions = function_sources(notebook_path(assignment_id))
    header = "\n".join(dict.fromkeys(imports))
    missing = [n for n in names if n not in functions]
    if missing:
        raise KeyError(f"the {assignment_id} solution notebook defines no {', '.join(missing)}")
    return {name: "\n\n".join([header, *(functions[f] for f in _needed(name, functions))]) + "\n"
            for name in names}


def _needed(name: str, functions: dict[str, str]) -> list[str]:
    """``name`` and the functions of ``functions`` it refers to, transitively; helpers first."""
    order, seen = [], set()

    def visit(fn: str) -> None:
        seen.add(fn)
        used = {n.id for n in ast.walk(ast.parse(functions[fn])) if isinstance(n, ast.Name)}
        for other in sorted(used & functions.keys() - seen):
            visit(other)
        order.append(fn)

    visit(name)
    return order
