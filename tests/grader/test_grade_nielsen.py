"""``grader grade`` on the Nielsen-style corpus: each book idiom costs its function's points, with
its hint named in ``results.json`` and shown on the feedback page; fixed as the hints say, it earns
them all, hidden cases included.

One student per corpus entry (``tests/course/nielsen_corpus.py``) as the student handed it in, and
one with every fix of its hints applied; each is the reference solution with that one function
replaced. (An entry that needs the student's own callee, ``helpers``, is left out: the grader
gives each function the reference callees, so that mistake can't happen there.) A4's ``digits.keras`` is left out (nobody's file is the point here), so everybody loses
its points, and nothing else.
"""
from __future__ import annotations

import csv
import html
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from course import exercises
from grader.authoring import samples

from .test_feedback import Page

COURSE_TESTS = Path(__file__).parent.parent / "course"


def _module(name: str):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, COURSE_TESTS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


corpus = _module("nielsen_corpus")
book = _module("nielsen_book")
ASSIGNMENTS = sorted({e.assignment for e in corpus.ENTRIES})


def fixed(entry) -> str:
    source = entry.source
    for step in entry.steps:
        source = book.apply(step, source)
    return source


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """``{assignment_id: (out, expected)}``: each assignment's corpus class, graded once."""
    runs = {}
    for assignment_id in ASSIGNMENTS:
        assignment = exercises.assignment(assignment_id)
        no_file = tuple(ex.name for ex in assignment.exercises if ex.artifact)
        root = tmp_path_factory.mktemp(f"nielsen-{assignment_id}")
        expected = {}
        for entry in (e for e in corpus.ENTRIES if e.assignment == assignment_id and not e.helpers):
            lost = (entry.function,) if entry.steps else ()
            samples.write_py(root / "class" / entry.name, assignment_id, {entry.function: entry.source})
            expected[entry.name] = samples.expected_scores(assignment, (*lost, *no_file))
            if entry.steps:
                samples.write_py(root / "class" / f"{entry.name}__fixed", assignment_id, {entry.function: fixed(entry)})
                expected[f"{entry.name}__fixed"] = samples.expected_scores(assignment, no_file)
        proc = subprocess.run([sys.executable, "-m", "grader.cli", "grade", assignment_id, str(root / "class"),
                               "--out", str(root / "out")], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        runs[assignment_id] = root / "out", expected
    return runs


def test_one_row_per_student_with_exactly_the_expected_scores(graded):
    for assignment_id, (out, expected) in graded.items():
        with open(out / "grades.csv") as f:
            rows = {r["student"]: r for r in csv.DictReader(f)}
        assert set(rows) == set(expected), assignment_id
        for student, scores in expected.items():
            assert {name: float(rows[student][name]) for name in scores} == scores, student


@pytest.mark.parametrize("entry", [e for e in corpus.ENTRIES if e.steps and not e.helpers], ids=lambda e: e.name)
def test_each_idiom_is_named_in_results_json_and_on_the_feedback_page(graded, entry):
    out, _ = graded[entry.assignment]
    results = json.loads((out / "results" / f"{entry.name}.json").read_text())
    test = next(t for t in results["tests"] if t["name"] == entry.function)
    hint = next(h for h in exercises.assignment(entry.assignment)[entry.function].hints
                if h.name == entry.steps[0].hint)
    assert test["status"] == "failed" and test["extra_data"]["hint"] == hint.name
    assert hint.message in test["output"]
    page = Page((out / "feedback" / f"{entry.name}.html").read_text(encoding="utf-8"))
    assert f"Hint: {hint.message}" in page.sections[entry.function]["text"]
    assert html.escape(hint.message, quote=True) in (out / "feedback" / f"{entry.name}.html").read_text()
