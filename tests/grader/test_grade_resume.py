"""A ``grader grade`` run killed with SIGKILL halfway resumes to exactly the uninterrupted result."""
import csv
import os
import signal
import subprocess
import sys
import time

import pytest

from grader.authoring import samples

STUDENTS = 500


def grader(*args):
    return [sys.executable, "-m", "grader.cli", "grade", "a1_neuron", *map(str, args), "--timeout", "2"]



@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    expected = samples.synthetic_class("a1_neuron", root / "class", STUDENTS)
    whole = subprocess.run(grader(root / "class", "--out", root / "whole"), capture_output=True, text=True)
    assert whole.returncode == 0, whole.stderr

    killed = subprocess.Popen(grader(root / "class", "--out", root / "resumed"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done_at_kill = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and killed.poll() is None:
        folder = root / "resumed" / "results"
        done_at_kill = sum(1 for p in folder.glob("*.json")) if folder.is_dir() else 0
        if done_at_kill >= STUDENTS // 2:
            killed.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    killed.wait()
    again = subprocess.run(grader(root / "class", "--out", root / "resumed"), capture_output=True, text=True)
    return root, expected, killed, done_at_kill, again


def test_the_run_was_really_killed_halfway(runs):
    _, _, killed, done_at_kill, _ = runs
    assert killed.returncode == -signal.SIGKILL
    assert STUDENTS // 2 <= done_at_kill < STUDENTS


def test_the_rerun_grades_only_what_is_missing(runs):
    root, _, _, done_at_kill, again = runs
    assert again.returncode == 0, again.stderr
    graded = int(again.stdout.split("graded ")[1].split(",")[0])
    reused = int(again.stdout.split("reused ")[1].split(" ")[0])
    assert graded + reused == STUDENTS
    assert reused >= done_at_kill and 0 < graded <= STUDENTS - done_at_kill


def test_resumed_and_uninterrupted_runs_are_identical_row_for_row(runs, results):
    root = runs[0]
    with open(root / "resumed" / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == STUDENTS and len({r["student"] for r in rows}) == STUDENTS
    assert (root / "resumed" / "grades.csv").read_bytes() == (root / "whole" / "grades.csv").read_bytes()
    assert results(root / "resumed") == results(root / "whole")
    for page in (root / "whole" / "feedback").iterdir():
        assert page.read_bytes() == (root / "resumed" / "feedback" / page.name).read_bytes()


def test_every_student_got_what_their_submission_deserves(runs):
    root, expected, *_ = runs
    with open(root / "whole" / "grades.csv") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    for student, scores in expected.items():
        assert {name: float(rows[student][name]) for name in scores} == scores, student


def test_no_half_written_file_is_left_behind(runs):
    root = runs[0]
    leftovers = [p for sub in ("results", "feedback") for p in (root / "resumed" / sub).iterdir()
                 if p.name.startswith(".")]
    assert leftovers == []
    assert not [p for p in os.listdir(root / "resumed") if p.endswith(".tmp")]
