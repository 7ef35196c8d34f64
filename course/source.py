"""Turn a submission (``.py`` or ``.ipynb``) into the definitions the grader calls.

Grading imports a submission's *definitions* — ``import``, ``def``, ``class`` and assignments of
constant expressions — from every code cell, in order, and skips everything else (plots, prints,
self-checks, training runs). So a notebook is turned into code once, without a kernel; IPython
magics (``%matplotlib inline``, ``!pip install``) are dropped, and a cell that does not parse
costs only what it defines, with a note naming the cell.
"""
from __future__ import annotations

import ast
import builtins
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from course.calls import safe_str

MAX_SOURCE_BYTES = 8 * 2**20
"""the most code a submission may hold: a ``.py`` file, or a notebook's code cells together"""
MAX_NOTEBOOK_BYTES = 64 * 2**20
"""the most a notebook file may take: its outputs (plots, printed arrays) are read, then dropped"""
_MAGIC = re.compile(r"^\s*(%|!)")
_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class SubmissionError(ValueError):
    """The file cannot be read as a submission at all; the message says why."""


@dataclass
class Definitions:
    """The statements to run, with notes about what was skipped and why."""

    statements: list[tuple[str, ast.stmt]] = field(default_factory=list)
    """(where, statement) pairs; ``where`` is e.g. ``"cell 4"`` or ``"line 12"``."""
    notes: list[str] = field(default_factory=list)
    """Human-readable problems found while reading (syntax errors, bad cells)."""


def is_notebook(path: Path) -> bool:
    """Whether a submission file is a notebook (``.ipynb``, in any case: ``A1_Neuron.IPYNB`` too)."""
    return path.suffix.lower() == ".ipynb"


def read_text(path: Path, *, max_bytes: int = MAX_SOURCE_BYTES) -> str:
    """Read a submission file as UTF-8 text, refusing huge or binary files with a clear reason."""
    size = path.stat().st_size
    if size > max_bytes:
        advice = ": clear its outputs (Kernel > Restart & Clear Output) and save it again" if is_notebook(path) else ""
        raise SubmissionError(f"{path.name} is {size:,} bytes; submissions are limited to {max_bytes:,}{advice}")
    with open(path, "rb") as f:
        raw = f.read(max_bytes + 1)
    if b"\x00" in raw:
        raise SubmissionError(f"{path.name} is a binary file, not Python source or a notebook")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SubmissionError(f"{path.name} is not UTF-8 text (byte {e.start}): save it as UTF-8") from None


def notebook_cells(text: str, name: str = "notebook") -> list[str]:
    """The code cells' sources of a notebook's JSON text, in order.

    Raises:
        SubmissionError: the text is not a Jupyter notebook.
    """
    try:
        nb = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise SubmissionError(f"{name} is not a valid notebook (JSON error: {e})") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise SubmissionError(f"{name} is not a Jupyter notebook: it has no list of cells")
    sources = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        if isinstance(src, list) and all(isinstance(s, str) for s in src):
            src = "".join(src)
        sources.append(src if isinstance(src, str) else "")
    return sources


def strip_magics(source: str) -> str:
    """Blank out IPython magic and shell lines, keeping line numbers."""
    if source.lstrip().startswith("%%"):
        return ""
    return "\n".join("" if _MAGIC.match(line) else line for line in source.split("\n"))


def is_definition(stmt: ast.stmt) -> bool:
    if isinstance(stmt, _DEFINITIONS):
        return True
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
        return not any(isinstance(n, (ast.Call, ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr))
                       for n in ast.walk(stmt.value))
    return False


def definitions(source: str, *, where: str = "line") -> Definitions:
    """Parse one piece of code and keep its definitions."""
    out = Definitions()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        line = getattr(e, "lineno", None)
        at = f" at line {line}" if line else ""
        out.notes.append(f"{where}: syntax error{at}: {getattr(e, 'msg', e)}; nothing in it was graded")
        return out
    for stmt in tree.body:
        if is_definition(stmt):
            label = where if where != "line" else f"line {stmt.lineno}"
            out.statements.append((label, stmt))
    return out


def code_cells(path: str | Path) -> list[str]:
    """A submission's code, IPython magics blanked out: a notebook's code cells, or a ``.py``
    file's text as one piece. A notebook may take ``MAX_NOTEBOOK_BYTES`` with its outputs (a
    student who kept many plots is not refused), its code ``MAX_SOURCE_BYTES``.

    Raises:
        SubmissionError: unreadable, binary, not UTF-8, too large, or not a notebook.
    """
    path = Path(path)
    if not is_notebook(path):
        return [strip_magics(read_text(path))]
    cells = notebook_cells(read_text(path, max_bytes=MAX_NOTEBOOK_BYTES), path.name)
    size = sum(len(cell) for cell in cells)
    if size > MAX_SOURCE_BYTES:
        raise SubmissionError(f"{path.name}'s code cells hold {size:,} characters; at most {MAX_SOURCE_BYTES:,} "
                              "are accepted")
    return [strip_magics(cell) for cell in cells]


def load_definitions(path: str | Path) -> Definitions:
    """Read a ``.py`` or ``.ipynb`` submission (``code_cells``) and keep its definitions.

    Raises:
        SubmissionError: unreadable, binary, not UTF-8, too large, or not a notebook.
    """
    path = Path(path)
    cells = code_cells(path)
    if not is_notebook(path):
        return definitions(cells[0])
    result = Definitions()
    for i, cell in enumerate(cells, start=1):
        part = definitions(cell, where=f"code cell {i}")
        result.statements += part.statements
        result.notes += part.notes
    return result


def execute(defs: Definitions) -> tuple[dict, list[str]]:
    """Run the definitions one statement at a time; returns (namespace, notes on failures).

    A statement that fails (an import of a missing module, say) is noted and skipped, so it
    costs only what depends on it.
    """
    namespace = {"__name__": "__submission__", "__builtins__": builtins}
    notes = list(defs.notes)
    for where, stmt in defs.statements:
        try:
            code = compile(ast.Module(body=[stmt], type_ignores=[]), f"<submission {where}>", "exec")
            exec(code, namespace)
        except BaseException as e:
            notes.append(f"{where}: {safe_str(e, 300)}")
    return namespace, notes
