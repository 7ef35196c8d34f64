"""Does a student's install (the wheel alone, no extras) check A1–A3 without TensorFlow?

Builds the project's wheel with ``pip wheel --no-deps``, installs it into a fresh venv (its
dependencies from the package index, as a student's ``pip install`` would), and runs the student
side from there, outside the repository, so nothing can come from the source tree or ``.venv/``.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("tensorflow", "keras", "nbgrader", "dask", "distributed", "nbclient", "ipykernel")


def run(cmd, cwd, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> Path:
    """A fresh venv with only ``digits-course`` (the wheel) installed; returns its bin/ folder."""
    tmp = tmp_path_factory.mktemp("student")
    built = run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", tmp / "wheel", ROOT], tmp)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp / "wheel").glob("digits_course-*.whl"))
    made = run([sys.executable, "-m", "venv", tmp / "venv"], tmp)
    assert made.returncode == 0, made.stderr
    bin_ = tmp / "venv" / "bin"
    installed = run([bin_ / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel], tmp,
                    timeout=900)
    assert installed.returncode == 0, f"pip install {wheel.name} failed (is the package index reachable?):\n{installed.stderr}"
    return bin_


def test_no_extra_is_installed(student):
    code = f"import importlib.util as u; print([m for m in {HEAVY!r} if u.find_spec(m)])"
    proc = run([student / "python", "-c", code], student)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", f"the student install pulled in {proc.stdout.strip()}"


def test_importing_course_and_the_self_check_never_import_tensorflow(student):
    code = textwrap.dedent("""
        import sys
        import numpy as np
        import course
        from course import check, load_mnist, plots
        assert "/venv/" in course.__file__, course.__file__   # the installed package, not the source tree
        check("relu", lambda z: np.maximum(0, z))
        (x, y), _ = load_mnist()
        plots.show_digit(x[0])                                  # matplotlib, headless
        print(sorted(m for m in ("tensorflow", "keras") if m in sys.modules))
    """)
    proc = run([student / "python", "-c", code], student, env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "✔ relu" in proc.stdout and proc.stdout.strip().endswith("[]"), proc.stdout


def test_course_check_a1_right_and_wrong(student, tmp_path):
    from course import exercises
    from grader.authoring.samples import write_py

    n = len(exercises.assignment("a1_neuron").exercises)
    good = write_py(tmp_path / "good", "a1_neuron")
    bad = write_py(tmp_path / "bad", "a1_neuron", {"relu": "def relu(z):\n    return np.clip(z, 0, 1)\n"})
    ok = run([student / "course", "check", "a1_neuron", good], tmp_path)
    assert ok.returncode == 0 and f"{n}/{n} exercises pass" in ok.stdout, ok.stdout + ok.stderr
    ko = run([student / "course", "check", "a1_neuron", bad], tmp_path)
    assert ko.returncode == 1 and "✘ relu" in ko.stdout and "no upper limit" in ko.stdout, ko.stdout + ko.stderr
    assert f"{n - 1}/{n} exercises pass" in ko.stdout


@pytest.mark.parametrize("assignment_id", ["a2_layer", "a3_network"])
def test_course_check_a2_a3(student, tmp_path, assignment_id):
    from course import exercises
    from grader.authoring.samples import write_py

    n = len(exercises.assignment(assignment_id).exercises)
    proc = run([student / "course", "check", assignment_id, write_py(tmp_path, assignment_id)], tmp_path)
    assert proc.returncode == 0 and f"{n}/{n} exercises pass" in proc.stdout, proc.stdout + proc.stderr


def test_a4_check_names_the_keras_extra_in_one_line(student, tmp_path):
    from grader.authoring.samples import write_py

    proc = run([student / "course", "check", "a4_digits", write_py(tmp_path, "a4_digits")], tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == ("course: a4_digits's check needs TensorFlow and Keras: "
                           "pip install 'digits-course[keras]'\n")


def test_a_lesson_cell_showing_keras_names_the_extra(student):
    proc = run([student / "python", "-c", "from course import quiet; quiet.keras()"], student)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "course.extras.MissingExtra: course.quiet.keras() needs TensorFlow and Keras: "
        "pip install 'digits-course[keras]'")


@pytest.mark.parametrize("args", [["grade", "a1_neuron", "subs", "--out", "graded"], ["solutions"], ["fixtures"]])
def test_grader_names_the_grader_extra_in_one_line(student, tmp_path, args):
    proc = run([student / "grader", *args], tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "grader needs the instructor tools: pip install 'digits-course[grader]'\n"
    assert not (tmp_path / "graded").exists()
