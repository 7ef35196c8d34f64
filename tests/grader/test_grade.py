"""Grading a small made-up class with the real ``grader grade`` gives exactly the expected scores.

Each assignment's class (``samples.sample_class``) is graded once, in a subprocess, and shared
by the tests below: correct submissions earn full marks, each catalogued mistake loses only its
own function's points and shows its hint, broken submissions earn 0 with a readable reason.
"""
import csv
import json
import os
import shutil
import subprocess
import sys

import pytest

from course import exercises
from grader.authoring import sample_models, samples

from .conftest import grade_rows as rows
from .conftest import scores as scores_of


def grader(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def grade_class(tmp_path_factory):
    """``grade_class(id) -> (root, expected, proc)``: the sample class of ``id``, graded once."""
    graded = {}

    def grade(assignment_id):
        if assignment_id not in graded:
            root = tmp_path_factory.mktemp(assignment_id)
            expected = samples.sample_class(assignment_id, root / "class",
                                            artifacts=sample_models.artifacts(assignment_id))
            proc = grader("grade", assignment_id, str(root / "class"), "--out", str(root / "out"), "--timeout", "3")
            graded[assignment_id] = root, expected, proc
        return graded[assignment_id]

    return grade


@pytest.fixture(params=exercises.IDS)
def graded(request, grade_class):
    assignment = exercises.assignment(request.param)
    return (assignment, *grade_class(request.param))


def result(root, student):
    return json.loads((root / "out" / "results" / f"{student}.json").read_text())


def test_exits_zero_and_writes_one_row_per_student(graded):
    assignment, root, expected, proc = graded
    assert proc.returncode == 0, proc.stderr
    table = rows(root / "out")
    assert set(table) == set(expected)
    with open(root / "out" / "grades.csv") as f:
        assert next(csv.reader(f)) == ["student", "score", "max_score", *assignment.names]


def test_each_student_gets_exactly_the_expected_per_function_scores(graded):
    assignment, root, expected, _ = graded
    table = rows(root / "out")
    for student, scores in expected.items():
        got = {name: float(table[student][name]) for name in assignment.names}
        assert got == scores, student
        assert float(table[student]["score"]) == sum(scores.values())


def test_the_reference_solution_earns_full_marks_without_notes(graded):
    """A lesson cell that the grader would run and that fails shows up as a note for everyone."""
    assignment, root, _, _ = graded
    for student in ("ada_solution_notebook", "ben_correct_py"):
        saved = result(root, student)
        assert saved["score"] == assignment.max_score and saved["extra_data"]["notes"] == [], student


@pytest.mark.parametrize("assignment_id, name, mistake", [
    (a, n, m) for a, catalogue in samples.MISTAKES.items() if a in exercises.IDS
    for n, m in catalogue.items() if m.hint])
def test_each_mistake_shows_its_hint(grade_class, assignment_id, name, mistake):
    root, _, _ = grade_class(assignment_id)
    test = next(t for t in result(root, f"mistake_{name}")["tests"] if t["name"] == mistake.function)
    hint = next(h for h in exercises.assignment(assignment_id)[mistake.function].hints if h.name == mistake.hint)
    assert test["status"] == "failed" and hint.message in test["output"]


def test_failures_carry_a_readable_reason(graded):
    _, root, _, _ = graded
    assert "not a valid notebook" in result(root, "malformed_notebook")["output"]
    assert "folder is empty" in result(root, "empty_folder")["output"]
    assert "syntax error" in result(root, "python_syntax_error")["output"]
    assert "NotImplementedError" in result(root, "stub_released_notebook")["tests"][0]["output"]
    assert "syntax error" in result(root, "syntax_error_in_one_cell")["output"]


def test_timeouts_and_overflow_warnings_are_named(grade_class):
    root, _, _ = grade_class("a1_neuron")
    relu = next(t for t in result(root, "mistake_infinite_loop")["tests"] if t["name"] == "relu")
    assert "longer than 3 s" in relu["output"]
    sigmoid = next(t for t in result(root, "mistake_overflowing_sigmoid")["tests"] if t["name"] == "sigmoid")
    assert "overflow" in sigmoid["output"]


def test_results_follow_the_gradescope_schema_and_feedback_is_html(graded):
    _, root, expected, _ = graded
    for student in expected:
        saved = result(root, student)
        assert isinstance(saved["score"], (int, float)) and isinstance(saved["tests"], list)
        for t in saved["tests"]:
            assert {"name", "score", "max_score", "output"} <= t.keys()
        page = (root / "out" / "feedback" / f"{student}.html").read_text()
        assert page.startswith("<!doctype html>") and student in page


def test_rerun_resumes_and_regrades_only_changed_submissions(grade_class, tmp_path):
    graded_root, expected, _ = grade_class("a1_neuron")
    for part in ("class", "out"):  # a copy, so the shared class stays as the other tests expect it
        shutil.copytree(graded_root / part, tmp_path / part)
    again = grader("grade", "a1_neuron", str(tmp_path / "class"), "--out", str(tmp_path / "out"), "--timeout", "3")
    assert again.returncode == 0 and f"graded 0, reused {len(expected)}" in again.stdout
    samples.write_py(tmp_path / "class" / "mistake_forgot_bias", "a1_neuron")  # fixed the mistake
    third = grader("grade", "a1_neuron", str(tmp_path / "class"), "--out", str(tmp_path / "out"), "--timeout", "3")
    assert f"graded 1, reused {len(expected) - 1}" in third.stdout
    assert float(rows(tmp_path / "out")["mistake_forgot_bias"]["score"]) == exercises.assignment("a1_neuron").max_score


@pytest.mark.parametrize("args, message", [
    (["grade", "a9_nope", ".", "--out", "x"], "unknown assignment"),
    (["grade", "a1_neuron", "/no/such/folder", "--out", "x"], "does not exist"),
    # each gave every student a zero, or a grader fault, for a slip of the keyboard
    (["grade", "a1_neuron", ".", "--out", "x", "--timeout", "0"], "--timeout: expected seconds above 0"),
    (["grade", "a1_neuron", ".", "--out", "x", "--timeout", "nan"], "received 'nan'"),
    (["grade", "a1_neuron", ".", "--out", "x", "--timeout", "1e300"], "at most 86400"),
    (["grade", "a1_neuron", ".", "--out", "x", "--workers", "0"], "--workers: expected a whole number, 1 or more"),
    (["grade", "a1_neuron", ".", "--out", "x", "--seed", "-1"], "--seed: expected a whole number, 0 or more"),
    (["plan", "a1_neuron", "--out", "x", "--seed", "two"], "received 'two'"),
])
def test_bad_command_lines_exit_nonzero_with_a_clear_message(tmp_path, args, message):
    proc = grader(*args, cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr


def test_a_zip_of_the_class_is_said_to_be_one(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "submissions.zip", "w") as z:  # an LMS's "download all"
        z.writestr("ada/a1_neuron.py", "def relu(z):\n    return z\n")
    proc = grader("grade", "a1_neuron", "submissions.zip", "--out", "graded", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("grader: submissions.zip is a zip file: unzip it first "
                                   "(unzip 'submissions.zip' -d 'submissions') and grade that folder")


def test_an_output_folder_inside_the_class_folder_is_no_student(tmp_path, a1_plan):
    """An instructor who writes ``--out`` into the class folder: the next run must not grade it as a
    student (a row of zeros in the gradebook), however the path to it is spelled. Nor are the
    folders tools leave there (a Mac's zip, Python's cache)."""
    expected = samples.synthetic_class("a1_neuron", tmp_path / "class", 3)
    for litter in ("__MACOSX/student_00000", "__pycache__", ".ipynb_checkpoints"):
        (tmp_path / "class" / litter).mkdir(parents=True)
    for out in (str(tmp_path / "class" / "graded"), "class/../class/graded"):  # the second: relative, a detour
        run = grader("grade", "a1_neuron", "class", "--out", out, "--plan", str(a1_plan), "--no-pictures",
                     cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        assert set(rows(tmp_path / "class" / "graded")) == set(expected)
        assert not (tmp_path / "class" / "graded" / "results" / "graded.json").exists()


def _refuse(student: str):
    """``submissions._open_to_read`` refusing ``student``'s file, as the kernel does a file of mode 000
    to a grader that is not root (root reads it anyway, so a test run as root could not see it)."""
    from grader.grading import submissions

    real = submissions._open_to_read

    def refuse(path):
        if path.parent.name == student:
            raise PermissionError(13, "Permission denied", str(path))
        real(path)

    return refuse


def test_a_submission_the_grader_cannot_read_is_a_grader_fault_not_a_zero(tmp_path, a1_plan, monkeypatch):
    """The class folder's permissions are the machine's doing: no score, the reason, and the next
    run grades it; the rest of the class is graded as usual."""
    from grader.grading import grade, submissions

    expected = samples.synthetic_class("a1_neuron", tmp_path / "class", 3)
    monkeypatch.setattr(submissions, "_open_to_read", _refuse("student_00001"))
    summary = grade.grade("a1_neuron", tmp_path / "class", tmp_path / "out", workers=1, plan=a1_plan,
                          pictures=False, progress=False)
    assert summary.grader_faults == ["student_00001"]
    assert rows(tmp_path / "out")["student_00001"]["score"] == ""  # no score at all, not a zero
    others = {s: e for s, e in expected.items() if s != "student_00001"}
    assert scores_of(tmp_path / "out", others) == others
    saved = json.loads((tmp_path / "out" / "results" / "student_00001.json").read_text())
    assert saved["output"] == ("Not graded, through no fault of yours: the grader could not read "
                               "student_00001/a1_neuron.py (Permission denied): make it readable to the user "
                               "running the grader")
    monkeypatch.undo()  # readable again: only that student is graded, and gets a score
    again = grade.grade("a1_neuron", tmp_path / "class", tmp_path / "out", workers=1, plan=a1_plan,
                        pictures=False, progress=False)
    assert (again.graded, again.reused, again.grader_faults) == (1, 2, [])
    assert scores_of(tmp_path / "out", expected) == expected


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a folder of mode 000 anyway")
def test_a_folder_of_mode_000_is_a_grader_fault_and_the_run_says_so(tmp_path, a1_plan):
    samples.synthetic_class("a1_neuron", tmp_path / "class", 3)
    locked = tmp_path / "class" / "student_00002"
    locked.chmod(0)
    try:
        run = grader("grade", "a1_neuron", str(tmp_path / "class"), "--out", str(tmp_path / "out"),
                     "--plan", str(a1_plan), "--no-pictures")
    finally:
        locked.chmod(0o755)
    assert run.returncode == 1 and "GRADER FAULT: 1 submission(s)" in run.stderr and "student_00002" in run.stderr
    got = rows(tmp_path / "out")
    assert got["student_00002"]["score"] == "" and got["student_00000"]["score"] != ""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to hold one back")
def test_by_default_a_run_has_a_worker_per_core_it_may_use_not_per_core_of_the_machine(tmp_path, a1_plan):
    """Held to one core (``taskset``, a container's cpuset or ``--cpus``), a run starts one worker."""
    samples.synthetic_class("a1_neuron", tmp_path / "class", 4)
    run = subprocess.run([sys.executable, "-m", "grader.cli", "grade", "a1_neuron", str(tmp_path / "class"), "--out",
                          str(tmp_path / "out"), "--plan", str(a1_plan), "--no-pictures"], capture_output=True,
                         text=True, preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}))
    assert run.returncode == 0, run.stderr
    assert "ready, 1 worker)" in run.stdout


def test_another_assignment_into_the_same_output_folder_is_refused_not_mixed(tmp_path, a1_plan):
    """Each student folder holds every assignment's file, so their fingerprints match: a2_layer
    graded into a1_neuron's folder reused a1's results (grades.csv: 11 points of 5, each function 0)."""
    samples.synthetic_class("a1_neuron", tmp_path / "class", 2)
    samples.synthetic_class("a2_layer", tmp_path / "class", 2)
    out = tmp_path / "out"
    assert grader("grade", "a1_neuron", str(tmp_path / "class"), "--out", str(out), "--plan", str(a1_plan),
                  "--no-pictures").returncode == 0
    before = (out / "grades.csv").read_bytes()
    run = grader("grade", "a2_layer", str(tmp_path / "class"), "--out", str(out), "--no-pictures")
    assert run.returncode == 2
    assert run.stderr.strip() == (f"grader: {out} holds a1_neuron's results (results/student_00000.json), which "
                                  "grading a2_layer there would replace: give it an --out of its own")
    assert (out / "grades.csv").read_bytes() == before  # a1's results as they were
    # grader similarity into it leaves a1's report alone
    assert "the class report links them" not in grader("similarity", "a2_layer", str(tmp_path / "class"),
                                                      "--out", str(out)).stdout


def test_a_submission_named_like_the_assignment_is_graded_and_the_student_told(tmp_path, a1_plan):
    """A download's ``a1_neuron (1).ipynb`` or a slip's ``A1-Neuron.IPYNB`` is the student's work: it is
    graded, and a note says what to name it. Two such files are no guess: the reason names them."""
    def named(student: str, *names: str, notebook: bool = False) -> None:
        folder = tmp_path / "class" / student
        for name in names:
            write = samples.write_notebook if notebook else samples.write_py
            write(folder, "a1_neuron").rename(folder / name)

    named("download", "a1_neuron (1).ipynb", notebook=True)
    named("capitals", "A1-Neuron.IPYNB", notebook=True)
    named("script", "a1_neuron_final.py")
    named("two", "a1_neuron_final.py", "a1_neuron_v2.py")
    named("other", "a1_neuronal_notes.py")
    run = grader("grade", "a1_neuron", str(tmp_path / "class"), "--out", str(tmp_path / "out"), "--plan", str(a1_plan),
                 "--no-pictures")
    assert run.returncode == 0, run.stderr
    got = rows(tmp_path / "out")
    full = str(exercises.assignment("a1_neuron").max_score)
    assert {s: got[s]["score"] for s in got} == {"download": full, "capitals": full, "script": full, "two": "0",
                                                 "other": "0"}

    def output(student: str) -> str:
        return json.loads((tmp_path / "out" / "results" / f"{student}.json").read_text())["output"]

    assert "- graded a1_neuron (1).ipynb, the one file named like a1_neuron: name it a1_neuron.ipynb next time" \
        in output("download")
    assert "name it a1_neuron.ipynb next time" in output("capitals")
    assert "several files that could be it (a1_neuron_final.py, a1_neuron_v2.py)" in output("two")
    assert "(found: a1_neuronal_notes.py)" in output("other")


def test_one_students_folder_given_as_the_class_is_said_to_be_one(tmp_path):
    samples.write_py(tmp_path / "class" / "ada", "a1_neuron")
    proc = grader("grade", "a1_neuron", str(tmp_path / "class" / "ada"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"grader: {tmp_path / 'class' / 'ada'} is one student's folder (it holds "
                                   f"a1_neuron.py): give the folder that holds one folder per student, such as "
                                   f"{tmp_path / 'class'}")


def test_a_student_folder_name_near_the_file_systems_limit_is_graded_and_linked(tmp_path, a1_plan):
    """A 245-byte folder name made the temporary file's name too long for the file system, which
    stopped the whole run; past 250 bytes ``<student>.json`` itself cannot be a file name."""
    import html
    import re
    from urllib.parse import unquote

    names = ["a" * 245, "é" * 127]  # 245 bytes, 254 bytes (two each)
    for name in names:
        samples.write_py(tmp_path / "class" / name, "a1_neuron")
    for _ in range(2):  # the second run finds the first one's results
        run = grader("grade", "a1_neuron", str(tmp_path / "class"), "--out", str(tmp_path / "out"), "--plan",
                     str(a1_plan))
        assert run.returncode == 0, run.stderr
    assert "graded 0, reused 2" in run.stdout
    got = rows(tmp_path / "out")
    assert set(got) == set(names) and {r["score"] for r in got.values()} == {
        str(exercises.assignment("a1_neuron").max_score)}
    report = (tmp_path / "out" / "report.html").read_text()
    links = [unquote(html.unescape(h)) for h in re.findall(r"href='(feedback/[^']+)'", report)]
    assert len(links) == 2 and all((tmp_path / "out" / link).is_file() for link in links)


def test_a_folder_name_with_terminal_escapes_reaches_the_terminal_escaped(tmp_path, a1_plan):
    """``grader grade`` prints students' names: one holding an escape sequence or a bell is shown,
    not obeyed (the files and grades.csv keep the name as it is)."""
    name = "eve\x1b]0;pwned\x07\x1b[2J"
    samples.write_py(tmp_path / "class" / name, "a1_neuron")
    run = grader("grade", "a1_neuron", str(tmp_path / "class"), "--out", str(tmp_path / "out"), "--plan",
                 str(a1_plan), "--no-pictures")
    assert run.returncode == 0, run.stderr
    assert "\x1b" not in run.stdout + run.stderr and "\x07" not in run.stdout + run.stderr
    assert "eve\\x1b]0;pwned\\x07\\x1b[2J" in run.stdout
    assert set(rows(tmp_path / "out")) == {name}
