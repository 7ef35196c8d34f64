"""Grading a small made-up A1 class with the real ``grader grade`` gives exactly the expected scores."""
import csv
import json
import subprocess
import sys

import pytest

from course import exercises
from grader import samples

A1 = exercises.assignment("a1_neuron")


def grader(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("a1")
    expected = samples.sample_class("a1_neuron", root / "class")
    proc = grader("grade", "a1_neuron", str(root / "class"), "--out", str(root / "out"), "--timeout", "2")
    return root, expected, proc


def rows(out):
    with open(out / "grades.csv") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


def test_exits_zero_and_writes_one_row_per_student(graded):
    root, expected, proc = graded
    assert proc.returncode == 0, proc.stderr
    table = rows(root / "out")
    assert set(table) == set(expected)
    with open(root / "out" / "grades.csv") as f:
        assert next(csv.reader(f)) == ["student", "score", "max_score", *A1.names]


def test_each_student_gets_exactly_the_expected_per_function_scores(graded):
    root, expected, _ = graded
    table = rows(root / "out")
    for student, scores in expected.items():
        got = {name: float(table[student][name]) for name in A1.names}
        assert got == scores, student
        assert float(table[student]["score"]) == sum(scores.values())


@pytest.mark.parametrize("name, mistake", [(n, m) for n, m in samples.MISTAKES["a1_neuron"].items() if m.hint])
def test_each_mistake_shows_its_hint(graded, name, mistake):
    root, _, _ = graded
    result = json.loads((root / "out" / "results" / f"mistake_{name}.json").read_text())
    test = next(t for t in result["tests"] if t["name"] == mistake.function)
    hint = next(h for h in A1[mistake.function].hints if h.name == mistake.hint)
    assert test["status"] == "failed" and hint.message in test["output"]


def test_failures_carry_a_readable_reason(graded):
    root, _, _ = graded
    read = lambda s: json.loads((root / "out" / "results" / f"{s}.json").read_text())  # noqa: E731
    assert "not a valid notebook" in read("malformed_notebook")["output"]
    assert "folder is empty" in read("empty_folder")["output"]
    assert "syntax error" in read("python_syntax_error")["output"]
    assert "NotImplementedError" in read("stub_released_notebook")["tests"][0]["output"]
    assert "longer than 2 s" in next(t for t in read("mistake_infinite_loop")["tests"] if t["name"] == "relu")["output"]
    assert "overflow" in next(t for t in read("mistake_overflowing_sigmoid")["tests"] if t["name"] == "sigmoid")["output"]
    assert "syntax error" in read("syntax_error_in_one_cell")["output"]


def test_results_follow_the_gradescope_schema_and_feedback_is_html(graded):
    root, expected, _ = graded
    for student in expected:
        result = json.loads((root / "out" / "results" / f"{student}.json").read_text())
        assert isinstance(result["score"], (int, float)) and isinstance(result["tests"], list)
        for t in result["tests"]:
            assert {"name", "score", "max_score", "output"} <= t.keys()
        page = (root / "out" / "feedback" / f"{student}.html").read_text()
        assert page.startswith("<!doctype html>") and student in page


def test_rerun_resumes_and_regrades_only_changed_submissions(graded):
    root, expected, _ = graded
    again = grader("grade", "a1_neuron", str(root / "class"), "--out", str(root / "out"), "--timeout", "2")
    assert again.returncode == 0 and f"graded 0, reused {len(expected)}" in again.stdout
    samples.write_py(root / "class" / "mistake_forgot_bias", "a1_neuron")  # fixed the mistake
    third = grader("grade", "a1_neuron", str(root / "class"), "--out", str(root / "out"), "--timeout", "2")
    assert f"graded 1, reused {len(expected) - 1}" in third.stdout
    assert float(rows(root / "out")["mistake_forgot_bias"]["score"]) == A1.max_score


@pytest.mark.parametrize("args, message", [
    (["grade", "a9_nope", ".", "--out", "x"], "unknown assignment"),
    (["grade", "a1_neuron", "/no/such/folder", "--out", "x"], "does not exist"),
])
def test_bad_command_lines_exit_nonzero_with_a_clear_message(tmp_path, args, message):
    proc = grader(*args, cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr
