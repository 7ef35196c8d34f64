"""The solution and released notebooks execute headless, and releases equal a fresh nbgrader run."""
import ast
import filecmp
import re

import nbformat
import pytest

from course import exercises
from course.source import strip_magics
from grader.authoring import assign
from grader.authoring.solutions import ASSIGNMENTS, notebook_path
from grader.integrations import notebooks


@pytest.mark.parametrize("assignment_id", exercises.IDS)
def test_solution_notebook_runs_clean(assignment_id, tmp_path):
    """No errors and not a word on stderr (nbgrader counts stderr output as a failure)."""
    nb = notebooks.execute(notebook_path(assignment_id), cwd=tmp_path)  # files it saves land in tmp_path
    assert notebooks.errors(nb) == []
    stderr = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    assert stderr == []


@pytest.mark.parametrize("assignment_id", exercises.IDS)
def test_each_exercise_has_a_solution_cell_and_a_check_cell_worth_its_points(assignment_id):
    nb = nbformat.read(notebook_path(assignment_id), as_version=4)
    meta = {c.metadata["nbgrader"]["grade_id"]: (c, c.metadata["nbgrader"]) for c in nb.cells}
    for ex in exercises.assignment(assignment_id).exercises:
        if ex.artifact:
            continue  # a file the notebook saves (digits.keras), graded without a check cell
        cell, solution = meta[ex.name]
        assert solution["solution"] and f"def {ex.name}(" in cell.source and "### BEGIN SOLUTION" in cell.source
        check_cell, check = meta[f"check_{ex.name}"]
        assert check["grade"] and check["points"] == ex.points
        assert check_cell.source == f'check("{ex.name}", {ex.name})'


def stub_errors(nb) -> list[str]:
    """The errors of an executed notebook other than stubs (NotImplementedError), failed self-checks,
    and NameErrors for a name that only such a failing cell would have set: the usual notebook
    cascade, e.g. ``model`` after ``model = build_model()`` raised."""
    unset, unexpected = set(), []
    for cell in nb.cells:
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if cell.cell_type != "code" or not errors:
            continue
        name, value = errors[0].get("ename"), errors[0].get("evalue", "")
        missing = re.fullmatch(r"name '(\w+)' is not defined", value)
        if name in ("NotImplementedError", "CheckFailed") or (name == "NameError" and missing and missing[1] in unset):
            unset |= {n.id for n in ast.walk(ast.parse(strip_magics(cell.source)))
                      if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        else:
            unexpected.append(f"{name}: {value}")
    return unexpected


@pytest.mark.parametrize("assignment_id", exercises.IDS)
def test_released_notebook_runs_to_the_end_with_stubs(assignment_id, tmp_path):
    """Students see NotImplementedError (or a failed self-check), not a dead kernel."""
    nb = notebooks.execute(notebook_path(assignment_id, root=ASSIGNMENTS), allow_errors=True, cwd=tmp_path)
    errors = notebooks.errors(nb)
    assert errors, "the released notebook should still contain stubs"
    assert stub_errors(nb) == [], errors
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert code_cells[-1].get("execution_count") is not None, "execution stopped before the last cell"


@pytest.mark.parametrize("assignment_id", exercises.IDS)
def test_committed_release_equals_a_fresh_nbgrader_generation(tmp_path, assignment_id):
    fresh = assign.generate(assignment_id, tmp_path)
    committed = ASSIGNMENTS / assignment_id
    compared = filecmp.dircmp(fresh, committed)
    assert not (compared.left_only or compared.right_only), "run `grader assign` and commit assignments/"
    for name in compared.common_files:
        assert (fresh / name).read_bytes() == (committed / name).read_bytes(), \
            f"{name} differs from a fresh generation: run `grader assign` and commit"
    nb = nbformat.read(committed / f"{assignment_id}.ipynb", as_version=4)
    assert "BEGIN SOLUTION" not in nbformat.writes(nb)


@pytest.mark.parametrize("assignment_id", exercises.IDS)
def test_functions_given_from_earlier_assignments_pass_their_own_checks(solution, assignment_id):
    """A later notebook hands out earlier solutions (A3 gives ``layer_forward``): they must be right."""
    from course.selfcheck import run_check

    own = exercises.assignment(assignment_id).names
    elsewhere = {n for other in exercises.IDS if other != assignment_id for n in exercises.assignment(other).names}
    given = [name for name, fn in solution(assignment_id).items() if callable(fn) and name in elsewhere - set(own)]
    for name in given:
        result = run_check(name, solution(assignment_id)[name])
        assert result.passed, f"{assignment_id} gives {name}: {result.summary()}"
