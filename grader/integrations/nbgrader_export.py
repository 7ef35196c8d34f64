"""``grader export nbgrader``: put ``grader grade``'s scores into nbgrader's gradebook.

Each graded function maps to the nbgrader grade cell of the solution notebook that checks it —
the locked cell ``check("sigmoid", sigmoid)``, grade id ``check_sigmoid`` — and its score becomes
that cell's *auto* score for the student, written through ``nbgrader.api.Gradebook``. So
``nbgrader export``, formgrader and anything else reading the gradebook show our grades, with
their no-double-penalty and hidden cases, instead of nbgrader's all-or-nothing cell outcomes. A
manual score an instructor gave in formgrader stays and still takes precedence, as in nbgrader.

Run it after ``nbgrader autograde`` (which would overwrite the auto scores with its own). What it
leaves out: submission timestamps (nbgrader's late penalties need ``nbgrader collect`` /
``autograde`` to record them) and comments.
"""
from __future__ import annotations

import json
import os
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from course import exercises
from grader.authoring.solutions import notebook_path
from grader.grading.results import grader_fault, readable

_CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([^"']+)["']""")


@dataclass(frozen=True)
class GradeCell:
    name: str
    """the cell's nbgrader grade id, e.g. ``check_sigmoid``"""
    points: float


def grade_cells(assignment_id: str) -> dict[str, GradeCell]:
    """Each graded function's grade cell in the solution notebook, by function name.

    Raises:
        ValueError: a function has no grade cell, or its cell is worth other points than the
            grader gives it (then nbgrader's totals would disagree with ours).
    """
    nb = json.loads(notebook_path(assignment_id).read_text(encoding="utf-8"))
    found: dict[str, GradeCell] = {}
    by_id: dict[str, GradeCell] = {}
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("grade"):
            continue
        gc = GradeCell(meta["grade_id"], float(meta.get("points", 0)))
        by_id[gc.name] = gc
        source = cell.get("source", "")
        for name in _CHECK_CALL.findall("".join(source) if isinstance(source, list) else source):
            found.setdefault(name, gc)
    assignment = exercises.assignment(assignment_id)
    cells, problems = {}, []
    for ex in assignment.exercises:
        if ex.artifact:  # a file the notebook saves (digits.keras) has no grade cell to hold it
            continue
        gc = found.get(ex.name) or by_id.get(f"check_{ex.name}") or by_id.get(ex.name)
        if gc is None:
            problems.append(f"{ex.name} has no grade cell (expected a locked cell "
                            f"check({ex.name!r}, ...) with grade id check_{ex.name})")
        elif gc.points != ex.points:
            problems.append(f"grade cell {gc.name} is worth {gc.points:g} points, but the grader gives "
                            f"{ex.name} {ex.points:g}")
        else:
            cells[ex.name] = gc
    if problems:
        raise ValueError(f"{notebook_path(assignment_id)} does not match the grader: " + "; ".join(problems))
    return cells


@dataclass
class Exported:
    students: int = 0
    created_submissions: int = 0
    grades: int = 0


def read_results(graded: Path, assignment_id: str) -> list[dict]:
    """The saved ``results/<student>.json`` of this assignment in a ``grader grade`` output folder.

    Raises:
        FileNotFoundError: no results there.
    """
    folder = Path(graded) / "results"
    saved = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and (data.get("extra_data") or {}).get("assignment") == assignment_id:
            saved.append(data)
    if not saved:
        raise FileNotFoundError(f"no {assignment_id} results in {folder}: run `grader grade {assignment_id} "
                                f"<submissions> --out {graded}` first")
    return saved


def export(assignment_id: str, graded: Path, db_url: str) -> Exported:
    # Artifacts (A4's digits.keras) have no grade cell, so nbgrader's totals leave them out;
    # grades.csv and results/ hold the full score.
    """Write the scores in ``graded/results/`` into the gradebook at ``db_url``.

    The assignment, its notebook and grade cells are created in the gradebook if
    ``nbgrader generate_assignment`` has not put them there yet.
    """
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SAWarning

    saved = read_results(graded, assignment_id)
    cells = grade_cells(assignment_id)
    notebook = notebook_path(assignment_id).stem
    done = Exported()
    # a new gradebook asks the `alembic` command (installed next to this python) for its version
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"
    # nbgrader's own add_submission triggers SQLAlchemy autoflush warnings (autograde prints them too)
    with warnings.catch_warnings(), Gradebook(db_url) as gb:
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_assignment(assignment_id)
        try:
            gb.find_notebook(notebook, assignment_id)
        except MissingEntry:
            gb.add_notebook(notebook, assignment_id)
        for gc in cells.values():
            gb.update_or_create_grade_cell(gc.name, notebook, assignment_id, max_score=gc.points, cell_type="code")
        for result in saved:
            if grader_fault(result):  # not graded: no score to put in the gradebook (the next run grades it)
                continue
            student = readable(str(result["extra_data"]["student"]))
            gb.update_or_create_student(student)
            try:
                gb.find_submission(assignment_id, student)
            except MissingEntry:
                gb.add_submission(assignment_id, student)
                done.created_submissions += 1
            scores = {t.get("name"): float(t.get("score") or 0.0) for t in result.get("tests") or []}
            for name, gc in cells.items():
                grade = _grade(gb, gc.name, notebook, assignment_id, student)
                grade.auto_score = scores.get(name, 0.0)
                grade.needs_manual_grade = grade.manual_score is not None  # as nbgrader's autograde does
                done.grades += 1
            gb.db.commit()
            done.students += 1
    return done


def _grade(gb, cell: str, notebook: str, assignment_id: str, student: str):
    """The student's grade for a cell, created if the cell joined the gradebook after the submission."""
    from nbgrader.api import Grade, MissingEntry

    try:
        return gb.find_grade(cell, notebook, assignment_id, student)
    except MissingEntry:
        grade = Grade(cell_id=gb.find_grade_cell(cell, notebook, assignment_id).id,
                      notebook=gb.find_submission_notebook(notebook, assignment_id, student))
        gb.db.add(grade)
        return grade
