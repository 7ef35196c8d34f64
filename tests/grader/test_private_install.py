"""Grading does not depend on where the project is installed (``grader.sandbox.reach``), and a
sandbox that cannot import what the grader grants is a grader fault, never a student's zero
(``grader.sandbox.faults``).

The slow tests copy the project into a ``mktemp -d`` folder (0700, like ``/root`` or a private
home), install it there (``private_install``) and grade every solution notebook with the copy's
own ``grader grade``, as root and as an ordinary user.
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from course import exercises
from grader.authoring import sample_models, samples, solutions
from grader.sandbox import faults, reach

sys.path.insert(0, str(Path(__file__).parent))
import private_install  # noqa: E402

NOBODY = 65534
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (children then drop to a sandbox uid)")


@pytest.fixture(scope="module")
def private_folder():
    """A ``mktemp -d`` folder: 0700, so other users cannot even pass through it."""
    path = Path(tempfile.mkdtemp(prefix="private-install-"))
    assert path.stat().st_mode & 0o777 == 0o700
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def users_private_folder():
    """A ``mktemp -d`` folder of the ordinary user ``NOBODY`` (0700, theirs)."""
    path = Path(tempfile.mkdtemp(prefix="private-install-user-"))
    os.chown(path, NOBODY, NOBODY)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def solution_class(project: Path, assignment_id: str, where: Path) -> Path:
    """A class of one student, ``reference_solution``, who handed in the solution notebook (and for
    A4 the reference model, trained as that notebook trains it)."""
    student = where / assignment_id / "reference_solution"
    student.mkdir(parents=True)
    shutil.copy(project / "solutions" / assignment_id / f"{assignment_id}.ipynb", student)
    for name, path in sample_models.artifacts(assignment_id).items():
        shutil.copy(path, student / name)
    return student.parent


def grade_every_solution(folder: Path, python: str, uid: int | None) -> dict[str, dict]:
    """Copy and install the project in ``folder`` (owned by ``uid``), grade each solution notebook
    there; returns each assignment's reference_solution results.json (with the command's output)."""
    project = private_install.copy_project(folder / "project")
    classes = folder / "classes"
    for assignment_id in exercises.IDS:
        solution_class(project, assignment_id, classes)
    if uid is not None:
        subprocess.run(["chown", "-R", f"{uid}:{uid}", str(folder)], check=True)
    venv_python = private_install.install(project, python=python, uid=uid)
    found = {}
    for assignment_id in exercises.IDS:
        out = folder / "out" / assignment_id
        proc = private_install.grade(project, venv_python, assignment_id, classes / assignment_id, out, uid=uid)
        assert proc.returncode == 0, (assignment_id, proc.stdout[-2000:], proc.stderr[-3000:])
        found[assignment_id] = private_install.results(out)["reference_solution"]
    return found


def assert_full_marks_without_notes(results: dict[str, dict]) -> None:
    for assignment_id, got in results.items():
        extra = got["extra_data"]
        assert got["score"] == extra["max_score"], (assignment_id, got["output"])
        assert extra["notes"] == [] and extra["problem"] == "", (assignment_id, got["output"])
        assert "grader_fault" not in extra


@root_only
def test_as_root_a_copy_in_a_private_folder_grades_every_solution_at_full_marks(private_folder):
    """Children run as a sandbox uid that cannot pass through the 0700 folder, yet read what they
    may: ``course.plots`` in A1's notebook, TensorFlow for A4's ``digits.keras``."""
    assert_full_marks_without_notes(grade_every_solution(private_folder / "root", sys._base_executable, None))


def ordinary_users_python() -> str:
    """A Python an ordinary user can run, with this venv's packages in their reach; else skip, saying why."""
    python = private_install.same_minor_python()
    if python is None:
        pytest.skip("no Python of this version that other users can run (this one lives in a private folder)")
    if why := private_install.packages_others_can_read():
        pytest.skip(why)
    return python


@root_only
def test_as_an_ordinary_user_a_copy_in_their_private_folder_grades_every_solution_at_full_marks(
        users_private_folder):
    python = ordinary_users_python()
    folder = users_private_folder
    assert_full_marks_without_notes(grade_every_solution(folder, python, NOBODY))


@root_only
def test_an_allowed_module_the_sandbox_cannot_read_is_a_grader_fault_regraded_later(users_private_folder):
    """A module of the course package the grader's own process never imports, made unreadable:
    a submission importing it must not lose points. The run says so loudly (exit 1, no score
    written as the student's), and the next run grades it again."""
    python = ordinary_users_python()
    folder = users_private_folder
    project = private_install.copy_project(folder / "project")
    helper = project / "course" / "lesson_helper.py"
    helper.write_text("BIAS_IS_MINUS_THRESHOLD = True\n")
    class_dir = folder / "classes" / "a1_neuron"
    submission = samples.write_py(class_dir / "honest_student", "a1_neuron")
    submission.write_text("from course import lesson_helper\n" + submission.read_text())
    subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(folder)], check=True)
    venv_python = private_install.install(project, python=python, uid=NOBODY)
    helper.chmod(0)  # this user (the grader's, and so its sandbox's) can no longer read it
    out = folder / "out"
    proc = private_install.grade(project, venv_python, "a1_neuron", class_dir, out, uid=NOBODY)
    assert proc.returncode == 1, (proc.stdout[-2000:], proc.stderr[-2000:])
    assert "GRADER FAULT" in proc.stderr and "honest_student" in proc.stderr, proc.stderr
    saved = private_install.results(out)["honest_student"]
    assert "course/lesson_helper.py" in saved["extra_data"]["grader_fault"], saved
    assert saved["extra_data"]["fingerprint"] == ""
    row = next(csv.DictReader((out / "grades.csv").open()))
    assert row["score"] == "" and row["sigmoid"] == ""  # no zero in the gradebook

    helper.chmod(0o644)
    proc = private_install.grade(project, venv_python, "a1_neuron", class_dir, out, uid=NOBODY)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "graded 1, reused 0" in proc.stdout
    assert_full_marks_without_notes({"a1_neuron": private_install.results(out)["honest_student"]})


@root_only
def test_without_landlock_a_sandbox_uid_that_cannot_read_the_course_stops_the_server(private_folder):
    """Without Landlock reads cannot be confined, so nothing is granted: the server says, in one
    line, which folder keeps the sandbox user out."""
    folder = private_folder / "no-landlock"
    project = private_install.copy_project(folder / "project")
    venv_python = private_install.install(project, python=sys._base_executable)
    script = ("import sys; from grader.sandbox import jail\n"
              "try:\n    jail.Jail.for_server(uid=1, base=sys.argv[1], landlock=False)\n"
              "except OSError as e:\n    print(e.strerror); sys.exit(3)\n")
    base = folder / "base"
    base.mkdir()
    proc = subprocess.run([str(venv_python), "-c", script, str(base)], cwd=project, capture_output=True, text=True,
                          env=private_install.environment(project))
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    line = proc.stdout.strip()
    assert "\n" not in line and "cannot read course" in line and f"chmod o+rx {private_folder}" in line, line


def test_a_reply_that_claims_an_allowed_import_failed_is_the_students_doing_when_a_probe_imports_it():
    """A submission can print any error: only a child that ran no submission code decides."""
    asked = []

    def probe(needs, modules, files):
        asked.append((needs, modules, files))
        return {m: ("" if m != "course.plots" else "PermissionError: denied") for m in modules}

    checker = faults.Checker(probe)
    reply = {"status": "ok", "load": {"status": "ok", "data": {"notes": [
        "code cell 1: ModuleNotFoundError: No module named 'numpy.linalg'",
        "code cell 2: ModuleNotFoundError: No module named 'seaborn_not_installed'",
        "code cell 3: ImportError: course.exercises can't be imported while grading: this exercise is NumPy only",
        "code cell 4: ImportError: cannot import name 'answers' from 'course'"]}},
        "functions": []}
    assert checker.fault(reply, {}) == ""
    assert asked == [((), ["numpy.linalg"], [])]  # only what the grader grants and exists here
    reply["load"]["data"]["notes"].append("code cell 5: ImportError: cannot import name 'plots' from 'course'")
    assert "course.plots" in checker.fault(reply, {})
    assert checker.fault(reply, {}) and len(asked) == 2  # each suspect probed once per run


def test_keras_is_granted_only_to_the_server_that_preloaded_it():
    assert not faults.granted("keras", ())
    if reach.module_locations(["keras"]):
        assert faults.granted("keras", ("keras",))
    assert faults.granted("course.plots") and not faults.granted("grader") and not faults.granted("course.fixtures")


def test_the_roots_hold_the_site_folders_the_modules_come_from_but_never_the_current_folder():
    roots = reach.readable_roots(("matplotlib",))
    numpy_dir = reach.module_locations(["numpy"])["numpy"][0]
    assert any(numpy_dir.startswith(r + "/") for r in roots)
    assert os.path.realpath(os.getcwd()) not in roots
    assert str(Path(solutions.__file__).resolve().parents[1]) not in roots  # the checkout as a whole
