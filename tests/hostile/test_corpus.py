"""Does every hostile submission earn nothing for what it attacked, and break nothing else?

The whole corpus (``corpus.py``) is graded once, by the real ``grader grade`` command, in the
session fixture ``hostile_run`` (``conftest.py``).
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from course import exercises

corpus = sys.modules["hostile_corpus"]
A1 = exercises.assignment(corpus.ASSIGNMENT)
CASES = corpus.all_cases()
THREATS = {"lying", "tampering", "escape", "resources", "data", "input"}


def test_the_corpus_covers_every_threat_with_at_least_35_cases():
    assert len(CASES) >= 35
    assert {c.threat for c in CASES} == THREATS
    assert len({c.name for c in CASES}) == len(CASES)


def test_the_grader_exits_zero_with_exactly_one_row_per_student(hostile_run):
    assert hostile_run.proc.returncode == 0, hostile_run.proc.stderr[-3000:]
    students = {c.name for c in CASES} | set(corpus.CONTROLS)
    with open(hostile_run.out / "grades.csv") as f:
        lines = f.read().splitlines()
    assert lines[0] == ",".join(["student", "score", "max_score", *A1.names])
    assert sorted(line.split(",")[0] for line in lines[1:]) == sorted(students)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_attacked_functions_earn_nothing_and_honest_ones_keep_their_points(hostile_run, case):
    row = hostile_run.rows()[case.name]
    got = {name: float(row[name]) for name in A1.names}
    assert got == corpus.expected_scores(case)
    assert float(row["score"]) == sum(got.values())
    if case.reason:
        result = hostile_run.result(case.name)
        texts = [t["output"] for t in result["tests"] if case.attacks == corpus.ALL or t["name"] in case.attacks]
        texts.append(result["output"])
        assert any(re.search(case.reason, text) for text in texts), texts


@pytest.mark.parametrize("student", sorted(corpus.CONTROLS))
def test_honest_classmates_get_full_marks(hostile_run, student):
    assert float(hostile_run.rows()[student]["score"]) == A1.max_score


def test_the_run_says_once_which_protections_were_in_force(hostile_run):
    from grader.sandbox import seccomp

    lines = [line for line in hostile_run.proc.stdout.splitlines() if line.startswith("sandbox: ")]
    assert len(lines) == 1, hostile_run.proc.stdout[-2000:]
    if seccomp.Filter.build() is not None:
        assert "seccomp filter" in lines[0]


def test_no_process_outlives_the_run(hostile_run):
    assert hostile_run.leftovers == []


def test_the_leftover_check_would_see_a_daemon_that_escaped(leftover_check):
    set_subreaper, descendants_left = leftover_check
    set_subreaper(True)
    daemon = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(30)\n"
    subprocess.run([sys.executable, "-c", daemon], check=True)
    time.sleep(0.2)
    left = descendants_left()
    for line in left:
        os.kill(int(line.split()[1]), signal.SIGKILL)
    assert len(left) == 1 and "os.fork()" in left[0]


def test_the_repository_and_installed_packages_are_unchanged(hostile_run):
    for key in ("packages", "site-packages", "git"):
        assert hostile_run.after[key] == hostile_run.before[key], key


def test_every_student_folder_is_byte_identical(hostile_run):
    assert hostile_run.after["class"] == hostile_run.before["class"]


def test_nothing_spills_into_shared_temporary_folders(hostile_run):
    # what the run left behind; a dead server's group from an earlier test may be swept by this run
    assert set(hostile_run.after["spill"]) <= set(hostile_run.before["spill"])


def test_the_output_folder_holds_only_the_graders_own_files(hostile_run):
    students = sorted({c.name for c in CASES} | set(corpus.CONTROLS))
    expected = {"grades.csv", "report.html"} | {f"results/{s}.json" for s in students} | {f"feedback/{s}.html" for s in students}
    expected |= {f"instructor/{s}.html" for s in students}  # the hidden cases' details, for the instructor
    files = {str(p.relative_to(hostile_run.out)) for p in hostile_run.out.rglob("*") if p.is_file()}
    assert files == expected
    for student in students:  # each JSON says what the CSV says: nothing was forged
        assert hostile_run.result(student)["score"] == float(hostile_run.rows()[student]["score"])


def test_no_submission_code_ever_runs_in_the_trusted_parent(hostile_run):
    assert not hostile_run.ctx.marker.exists()


def test_the_graders_secrets_never_reach_feedback(hostile_run):
    for name in ("leak_environment", "read_parent_proc"):  # their messages do reach feedback...
        assert "LOOT" in str(hostile_run.result(name)["tests"])
    for path in hostile_run.out.rglob("*"):  # ...but without the secret
        if path.is_file():
            assert corpus.CANARY not in path.read_text(errors="replace"), path


def test_no_submission_reaches_the_network(hostile_run):
    assert hostile_run.network_contacts == []


def test_tally(hostile_run):
    """The figure quoted in reports: how many cases, and how many scored 0 on what they attacked."""
    rows = hostile_run.rows()
    zero = [c.name for c in CASES if all(float(rows[c.name][n]) == 0 for n in
                                           (A1.names if c.attacks == corpus.ALL else c.attacks))]
    intact = [c.name for c in CASES if all(float(rows[c.name][n]) == A1[n].points for n in A1.names
                                           if c.attacks != corpus.ALL and n not in c.attacks)]
    print(f"\nhostile corpus: {len(CASES)} cases; {len(zero)} scored 0 on what they attacked; "
          f"{len(intact)} kept every honest function's points; graded in {hostile_run.seconds:.1f} s")
    assert len(zero) == len(intact) == len(CASES)
