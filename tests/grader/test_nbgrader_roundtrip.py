"""The course through real nbgrader: generate, autograde, and our scores exported to its gradebook.

One scratch nbgrader course per assignment: ``source/`` is a copy of ``solutions/<id>``; the
reference solution and the released stub are submitted and autograded by nbgrader, then the
solution with one typical mistake joins them for ``grader grade``. Every step runs nbgrader's own command line (``generate_assignment``, ``autograde``,
``export``), and ``grader grade`` / ``grader export nbgrader`` run as subprocesses.
"""
import csv
import os
import subprocess
import sys

import nbformat
import pytest

from course import exercises
from grader.authoring import samples
from grader.authoring.solutions import ASSIGNMENTS, notebook_path
from grader.integrations import nbgrader_course, nbgrader_export


def grader(*args):
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True, text=True)


def submit(course, student, assignment_id, nb) -> None:
    folder = course / "submitted" / student / assignment_id
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{assignment_id}.ipynb")


def with_mistake(assignment_id):
    """The solution notebook with one function's solution cell replaced by a typical mistake."""
    mistake = next((m for m in samples.MISTAKES.get(assignment_id, {}).values() if m.hint), None)
    if mistake is None:
        return None, None
    nb = nbformat.read(notebook_path(assignment_id), as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == mistake.function)
    cell.source = "import numpy as np\n\n" + mistake.source
    return nb, mistake


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module", params=exercises.IDS)
def course(request, tmp_path_factory):
    assignment_id = request.param
    root = nbgrader_course.make(tmp_path_factory.mktemp(f"nbgrader-{assignment_id}"), [assignment_id])
    nbgrader_course.run(root, "generate_assignment", assignment_id)
    submit(root, "reference", assignment_id, nbformat.read(notebook_path(assignment_id), as_version=4))
    release = root / "release" / assignment_id / f"{assignment_id}.ipynb"
    submit(root, "stub", assignment_id, nbformat.read(release, as_version=4))
    nbgrader_course.run(root, "autograde", assignment_id, timeout=900)
    nbgrader_course.run(root, "export", f"--to={root / 'autograded.csv'}")
    # submitted after autograde, so `grader export nbgrader` has to create its gradebook entry
    mistaken, mistake = with_mistake(assignment_id)
    if mistaken is not None:
        submit(root, "mistake", assignment_id, mistaken)
    return assignment_id, root, mistake


def test_generate_assignment_reproduces_the_committed_release(course):
    assignment_id, root, _ = course
    fresh, committed = root / "release" / assignment_id, ASSIGNMENTS / assignment_id
    assert sorted(p.name for p in fresh.iterdir()) == sorted(p.name for p in committed.iterdir())
    for path in fresh.iterdir():
        assert path.read_bytes() == (committed / path.name).read_bytes(), \
            f"{path.name} differs from a fresh nbgrader generation: run `grader assign` and commit"


def notebook_exercises(assignment_id):
    """The exercises nbgrader grades: functions with a grade cell (not a saved file like digits.keras)."""
    return [ex for ex in exercises.assignment(assignment_id).exercises if not ex.artifact]


def skip_if_artifacts(assignment_id):
    if len(notebook_exercises(assignment_id)) < len(exercises.assignment(assignment_id).exercises):
        pytest.skip(f"{assignment_id} grades a saved file, which has no nbgrader grade cell: "
                    "nbgrader's totals can't equal ours")


def test_autograde_gives_the_reference_full_marks_and_the_stub_zero(course):
    assignment_id, root, _ = course
    rows = {r["student_id"]: r for r in read_csv(root / "autograded.csv") if r["assignment"] == assignment_id}
    max_score = sum(ex.points for ex in notebook_exercises(assignment_id))
    assert float(rows["reference"]["max_score"]) == max_score
    assert float(rows["reference"]["score"]) == max_score
    assert float(rows["stub"]["score"]) == 0.0


def grade_cells(root, student, assignment_id):
    nb = nbformat.read(root / "autograded" / student / assignment_id / f"{assignment_id}.ipynb", as_version=4)
    return {c.metadata.nbgrader.grade_id: c for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}


def test_reference_grade_cells_pass_without_a_word_on_stderr(course):
    """nbgrader gives 0 to a grade cell with any stderr output (e.g. TensorFlow's logging)."""
    assignment_id, root, _ = course
    for grade_id, cell in grade_cells(root, "reference", assignment_id).items():
        kinds = [(o.output_type, o.get("name")) for o in cell.outputs]
        assert ("stream", "stderr") not in kinds and not any(k == "error" for k, _ in kinds), (grade_id, kinds)


def test_stub_grade_cells_fail_with_a_readable_error(course):
    assignment_id, root, _ = course
    for grade_id, cell in grade_cells(root, "stub", assignment_id).items():
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert errors and errors[0].ename in ("CheckFailed", "NotImplementedError"), grade_id
        if errors[0].ename == "CheckFailed":
            assert "not implemented yet" in errors[0].evalue, errors[0].evalue


def test_every_graded_function_has_a_grade_cell_worth_its_points(course):
    assignment_id, _, _ = course
    cells = nbgrader_export.grade_cells(assignment_id)
    assert set(cells) == {ex.name for ex in notebook_exercises(assignment_id)}
    assert sum(c.points for c in cells.values()) == sum(ex.points for ex in notebook_exercises(assignment_id))


def test_export_nbgrader_puts_our_per_function_scores_in_the_gradebook(course):
    from nbgrader.api import Gradebook

    assignment_id, root, mistake = course
    skip_if_artifacts(assignment_id)
    out = root / "graded"
    proc = grader("grade", assignment_id, str(root), "--out", str(out), "--no-pictures")
    assert proc.returncode == 0, proc.stderr
    ours = {r["student"]: r for r in read_csv(out / "grades.csv")}
    assert set(ours) == {"reference", "stub"} | ({"mistake"} if mistake else set())
    if mistake:  # the typical mistake costs exactly its function's points
        assert float(ours["mistake"][mistake.function]) == 0.0
        assert float(ours["mistake"]["score"]) == float(ours["reference"]["score"]) - \
            exercises.assignment(assignment_id)[mistake.function].points

    proc = grader("export", "nbgrader", assignment_id, str(out), "--course", str(root))
    assert proc.returncode == 0, proc.stderr
    assert f"of {len(ours)} students" in proc.stdout

    nbgrader_course.run(root, "export", f"--to={root / 'exported.csv'}")
    theirs = {r["student_id"]: r for r in read_csv(root / "exported.csv") if r["assignment"] == assignment_id}
    assert set(theirs) == set(ours)
    for student, row in ours.items():
        assert float(theirs[student]["score"]) == float(row["score"]), student
        assert float(theirs[student]["max_score"]) == float(row["max_score"])

    cells = nbgrader_export.grade_cells(assignment_id)
    with Gradebook(nbgrader_course.db_url(root)) as gb:
        for student, row in ours.items():
            for name, cell in cells.items():
                grade = gb.find_grade(cell.name, assignment_id, assignment_id, student)
                assert grade.auto_score == float(row[name]) and grade.score == float(row[name]), (student, name)


def test_export_nbgrader_creates_what_a_new_gradebook_lacks(course, tmp_path):
    """Without `nbgrader generate_assignment` first: the assignment and its grade cells are created."""
    from nbgrader.api import Gradebook

    assignment_id, root, _ = course
    skip_if_artifacts(assignment_id)
    out = root / "graded"
    if not (out / "grades.csv").exists():
        assert grader("grade", assignment_id, str(root), "--out", str(out), "--no-pictures").returncode == 0
    db = f"sqlite:///{tmp_path / 'fresh.db'}"
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # as when .venv/bin/grader is run without activating the venv
    proc = subprocess.run([sys.executable, "-m", "grader.cli", "export", "nbgrader", assignment_id, str(out),
                           "--db", db], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", "no warnings from nbgrader's internals"
    ours = {r["student"]: float(r["score"]) for r in read_csv(out / "grades.csv")}
    with Gradebook(db) as gb:
        assert gb.find_assignment(assignment_id).max_score == exercises.assignment(assignment_id).max_score
        assert {s: gb.find_submission(assignment_id, s).score for s in ours} == ours


def test_export_nbgrader_explains_a_missing_grade_run(tmp_path):
    proc = grader("export", "nbgrader", exercises.IDS[0], str(tmp_path / "nothing"), "--course", str(tmp_path))
    assert proc.returncode == 2 and "run `grader grade" in proc.stderr
