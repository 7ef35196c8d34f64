"""Read each student's code for ``grader similarity``, in the layouts ``grader grade`` accepts.

A submission (``.py``, or a notebook's code cells with IPython magics blanked out) becomes one
text, the *document* compared with the others, plus where each graded function lies in it. Cells
identical to one of the released template's cells (imports, self-checks, the stubs left as they
were) are left out, so what the students were given is never evidence of copying.
"""
from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path

from course.source import SubmissionError, code_cells, notebook_cells, read_text, strip_magics
from grader.authoring.solutions import ROOT
from grader.grading.submissions import discover

ASSIGNMENTS = ROOT / "assignments"


@dataclass
class Source:
    """One student's code, as compared."""

    student: str
    path: Path | None
    """the notebook or ``.py`` file read, or None when there was none"""
    code: str = ""
    """the code cells (or the file), template cells left out, joined by blank lines"""
    functions: dict[str, tuple[int, int]] = field(default_factory=dict)
    """graded function name -> (start, end) character offsets of its ``def`` in ``code``"""
    problem: str = ""
    """why nothing was read, if so"""


def _normal(cell: str) -> str:
    return "\n".join(line.rstrip() for line in cell.strip().split("\n"))


def template_cells(assignment_id: str) -> list[str]:
    """The released notebook's code cells, magics blanked (empty when it is not there)."""
    path = ASSIGNMENTS / assignment_id / f"{assignment_id}.ipynb"
    if not path.is_file():
        return []
    return [strip_magics(c) for c in notebook_cells(read_text(path), path.name)]


def _functions(cell: str, base: int, names: set[str]) -> dict[str, tuple[int, int]]:
    """Character ranges of the graded functions defined at the top level of one cell."""
    try:
        tree = ast.parse(cell)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}  # the text is still compared; only the per-function view loses this cell
    starts = [0]
    for line in cell.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            found[node.name] = (base + starts[first - 1], base + starts[node.end_lineno] - 1)
    return found  # a later definition of the same name wins, as it would when run


def read(student: str, path: Path | None, template: set[str], names: set[str]) -> Source:
    """One student's document; ``template`` holds the template's cells, normalised."""
    if path is None:
        return Source(student, None, problem="no submission")
    try:
        cells = code_cells(path)
    except (SubmissionError, OSError) as e:
        return Source(student, path, problem=str(e))
    source = Source(student, path)
    parts: list[str] = []
    at = 0
    for cell in cells:
        if not cell.strip() or _normal(cell) in template:
            continue
        source.functions.update(_functions(cell, at, names))
        parts.append(cell)
        at += len(cell) + 2
    source.code = "\n\n".join(parts)
    return source


def read_class(assignment_id: str, submissions_dir: str | os.PathLike, names: tuple[str, ...], *,
               exclude: tuple[str | os.PathLike, ...] = ()) -> list[Source]:
    """Every student folder's document, sorted by student, as ``grader grade`` finds them
    (``exclude``: folders that are no student's, as for ``discover``).

    Raises:
        NotADirectoryError: ``submissions_dir`` is not a folder.
    """
    template = {_normal(c) for c in template_cells(assignment_id)}
    return [Source(sub.student, None, problem=sub.fault) if sub.fault
            else read(sub.student, sub.path, template, set(names))
            for sub in discover(submissions_dir, assignment_id, exclude=exclude)]
