"""The solution and released notebooks execute headless, and releases equal a fresh nbgrader run."""
import filecmp

import nbformat
import pytest

from course import exercises
from grader import assign, notebooks
from grader.solutions import ASSIGNMENTS, notebook_path


@pytest.mark.parametrize("assignment_id", exercises.IDS)
def test_solution_notebook_runs_clean(assignment_id):
    nb = notebooks.execute(notebook_path(assignment_id))
    assert notebooks.errors(nb) == []


@pytest.mark.parametrize("assignment_id", exercises.IDS)
def test_released_notebook_runs_to_the_end_with_stubs(assignment_id):
    """Students see NotImplementedError (or a failed self-check), not a dead kernel."""
    nb = notebooks.execute(notebook_path(assignment_id, root=ASSIGNMENTS), allow_errors=True)
    errors = notebooks.errors(nb)
    assert errors, "the released notebook should still contain stubs"
    assert all(e.startswith(("NotImplementedError", "CheckFailed")) for e in errors), errors
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
