"""A sample class graded once per session by the real ``grader grade``, for the output-file tests."""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.authoring import sample_models, samples

QUOTED_NAME = 'Zoë O\'Brien, "Z" <b>&amp;'
"""a student folder whose name needs CSV quoting and HTML escaping"""
UNDECODABLE_NAME = b"caf\xe9"
"""a folder name that is not UTF-8 (Latin-1 é), as zips from some LMSs produce"""


@dataclass
class GradedClass:
    assignment_id: str
    class_dir: Path
    out: Path
    expected: dict[str, dict[str, float]]
    """per student, the score each function should get"""
    quoted_mistake: str
    """the mistake (a key of ``samples.MISTAKES``) the student ``QUOTED_NAME`` made"""


@pytest.fixture(scope="session")
def a1_plan(tmp_path_factory) -> Path:
    """``grader plan a1_neuron --seed 0``'s file (Keras computes it once for the whole session)."""
    path = tmp_path_factory.mktemp("plan") / "a1.plan"
    made = subprocess.run([sys.executable, "-m", "grader.cli", "plan", "a1_neuron", "--seed", "0", "--out", str(path)],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    return path


def grade_rows(out: Path) -> dict[str, dict[str, str]]:
    """``out/grades.csv``'s rows, by student."""
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def scores(out: Path, expected: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """What ``out/grades.csv`` gives each student of ``expected`` (``samples.synthetic_class``'s)
    for each function it names, in its shape, to compare with it."""
    rows = grade_rows(out)
    return {student: {name: float(rows[student][name]) for name in functions}
            for student, functions in expected.items()}


def ready_plan(path: Path, timeout: float = 1.0):
    """The plan in ``path`` (``a1_plan``) as ``grade_local`` and ``grade_all`` take it."""
    from grader.grading.plan_file import Ready, read_plan

    return Ready(read_plan(path, assignment_id="a1_neuron", seed=0, timeout=timeout))


def children(pid: int) -> list[int]:
    """The child processes of every thread of ``pid`` (a Dask worker starts them from its task threads)."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(p) for p in f.read().split()]
        except OSError:
            pass
    return found


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def grade_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True, text=True)


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """``graded_class(assignment_id)``: the sample class plus two awkwardly named students, graded."""
    cache: dict[str, GradedClass] = {}

    def grade(assignment_id: str) -> GradedClass:
        if assignment_id in cache:
            return cache[assignment_id]
        from course import exercises

        root = tmp_path_factory.mktemp(f"class-{assignment_id}")
        class_dir = root / "class"
        expected = samples.sample_class(assignment_id, class_dir, with_loop=False,
                                        artifacts=sample_models.artifacts(assignment_id))
        assignment = exercises.assignment(assignment_id)
        name, mistake = next(((n, m) for n, m in samples.MISTAKES.get(assignment_id, {}).items() if m.hint),
                             (None, None))
        overrides = {mistake.function: mistake.source} if mistake else {}
        samples.write_py(class_dir / QUOTED_NAME, assignment_id, overrides)
        expected[QUOTED_NAME] = samples.expected_scores(assignment, tuple(overrides))
        undecodable = os.fsdecode(os.path.join(os.fsencode(class_dir), UNDECODABLE_NAME))
        samples.write_py(Path(undecodable), assignment_id)
        for folder in (class_dir / QUOTED_NAME, Path(undecodable)):  # e.g. A4's digits.keras
            for artifact, path in sample_models.artifacts(assignment_id).items():
                shutil.copy(path, folder / artifact)
        expected[os.path.basename(undecodable)] = samples.expected_scores(assignment)
        out = root / "out"
        proc = grade_cli("grade", assignment_id, str(class_dir), "--out", str(out))
        assert proc.returncode == 0, proc.stderr
        cache[assignment_id] = GradedClass(assignment_id, class_dir, out, expected, name)
        return cache[assignment_id]

    return grade


def comparable(out: Path) -> dict[str, dict]:
    """Every results.json of ``out``, without what honestly differs run to run: the timings."""
    found = {}
    for path in sorted((out / "results").iterdir()):
        data = json.loads(path.read_text())
        data.pop("execution_time")
        for test in data["tests"]:
            (test.get("extra_data") or {}).pop("seconds", None)
        found[path.name] = data
    return found


@pytest.fixture
def results():
    """``comparable``: results.json files by name, timings left out."""
    return comparable
