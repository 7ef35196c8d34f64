"""The Gradescope autograder zip, run for real in a fake ``/autograder`` tree.

``grader gradescope`` builds the zip; each test unpacks it the way Gradescope does (``source/``
plus a copy of ``run_autograder``), puts a submission in ``submission/``, runs the unpacked
``run_autograder`` with this venv's python standing in for what ``setup.sh`` installs, and checks
``results/results.json`` against the schema in Gradescope's documentation.
"""
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile

import jsonschema
import nbformat
import pytest

from course import exercises
from grader.authoring import sample_models, samples
from grader.authoring.solutions import ASSIGNMENTS, notebook_path
from grader.integrations import gradescope

# Gradescope's results.json, as documented at
# https://gradescope-autograders.readthedocs.io/en/latest/specs/ (source: gradescope/autograder_samples,
# docs/specs.md, "Output format", "Test case status", "Output String Formatting", "Controlling ...
# Visibility"). additionalProperties is false so that a misspelt field fails here, not silently
# on Gradescope.
VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
TEST = {
    "type": "object",
    "properties": {
        "score": {"type": "number"},
        "max_score": {"type": "number"},
        "status": {"enum": ["passed", "failed"]},
        "name": {"type": "string"},
        "name_format": FORMAT,
        "number": {"type": "string"},
        "output": {"type": "string"},
        "output_format": FORMAT,
        "tags": {"type": "array", "items": {"type": "string"}},
        "visibility": VISIBILITY,
        "extra_data": {"type": "object"},
    },
    "additionalProperties": False,
}
RESULTS_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number"},
        "output": {"type": "string"},
        "output_format": FORMAT,
        "test_output_format": FORMAT,
        "test_name_format": FORMAT,
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": TEST},
        "leaderboard": {"type": "array", "items": {
            "type": "object", "required": ["name", "value"], "additionalProperties": False,
            "properties": {"name": {"type": "string"}, "value": {"type": ["number", "string"]},
                           "order": {"enum": ["asc", "desc"]}}}},
    },
    # "score: optional, but required if not on each test case"
    "anyOf": [{"required": ["score"]},
              {"required": ["tests"], "properties": {"tests": {"items": {"required": ["score"]}}}}],
    "additionalProperties": False,
}


def validate(results: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(RESULTS_SCHEMA)
    jsonschema.validate(results, RESULTS_SCHEMA, cls=jsonschema.Draft202012Validator)


@pytest.fixture(scope="module")
def zips(tmp_path_factory):
    out = tmp_path_factory.mktemp("zips")
    built = {}
    for assignment_id in exercises.IDS:
        proc = subprocess.run([sys.executable, "-m", "grader.cli", "gradescope", assignment_id, "--out", str(out)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        built[assignment_id] = out / f"{assignment_id}-gradescope.zip"
        assert str(built[assignment_id]) in proc.stdout
    return built


def unpack(zip_path, tree):
    """What Gradescope does: unzip into source/, copy run_autograder to the root (modes kept)."""
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(tree / "source")
        for info in zf.infolist():
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(tree / "source" / info.filename, mode)
    shutil.copy2(tree / "source" / "run_autograder", tree / "run_autograder")
    (tree / "results").mkdir()
    (tree / "submission_metadata.json").write_text(json.dumps(
        {"id": 1, "users": [{"email": "ada@example.edu", "id": 7, "name": "Ada L."}], "previous_submissions": []}))


def run_autograder(tree):
    env = {**os.environ, "AUTOGRADER_ROOT": str(tree), "AUTOGRADER_PYTHON": sys.executable}
    return subprocess.run([str(tree / "run_autograder")], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=900)


def test_zip_has_setup_and_run_autograder_at_its_root(zips):
    for assignment_id, path in zips.items():
        with zipfile.ZipFile(path) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            for script in ("setup.sh", "run_autograder"):
                assert script in infos
                assert (infos[script].external_attr >> 16) & stat.S_IXUSR, f"{script} is not executable"
                assert zf.read(script).startswith(b"#!/usr/bin/env bash\n")
            names = set(infos)
        assert {"digits/pyproject.toml", "digits/course/data/mnist.npz", "digits/grader/grading/grade.py",
                f"digits/course/fixtures/{assignment_id}.npz",
                f"digits/solutions/{assignment_id}/{assignment_id}.ipynb"} <= names
        others = [n for n in names if n.startswith("digits/solutions/") and f"/{assignment_id}/" not in n]
        assert not others, "only this assignment's solution belongs in its autograder"
        assert not any("__pycache__" in n for n in names)


def test_setup_sh_is_valid_bash(zips, tmp_path):
    with zipfile.ZipFile(next(iter(zips.values()))) as zf:
        (tmp_path / "setup.sh").write_bytes(zf.read("setup.sh"))
    proc = subprocess.run(["bash", "-n", str(tmp_path / "setup.sh")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_same_sources_build_the_same_zip(zips, tmp_path):
    assignment_id, path = next(iter(zips.items()))
    again = gradescope.build(assignment_id, tmp_path)
    assert again.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("assignment_id", exercises.IDS)
def test_reference_solution_gets_full_marks_in_a_valid_results_json(zips, tmp_path, assignment_id):
    tree = tmp_path / "autograder"
    unpack(zips[assignment_id], tree)
    (tree / "submission").mkdir()
    shutil.copy(notebook_path(assignment_id), tree / "submission")
    for name, path in sample_models.artifacts(assignment_id).items():  # e.g. A4's digits.keras
        shutil.copy(path, tree / "submission" / name)
    proc = run_autograder(tree)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"with {tree / 'source' / 'digits' / 'grader'}" in proc.stdout, "the bundled grader must be the one that runs"
    results = json.loads((tree / "results" / "results.json").read_text())
    validate(results)
    assignment = exercises.assignment(assignment_id)
    assert results["score"] == assignment.max_score
    graded = [t for t in results["tests"] if t["visibility"] == "visible"]
    assert [t["name"] for t in graded] == list(assignment.names)
    details = [t for t in results["tests"] if t not in graded]  # the hidden cases, after the due date
    assert {t["visibility"] for t in details} == {"after_due_date"} and all(t["max_score"] == 0 for t in details)
    assert [t["name"] for t in details] == [f"{name}: hidden cases" for name in assignment.names][:len(details)]
    assert all(t["status"] == "passed" and t["score"] == t["max_score"] for t in results["tests"])


def test_a_mistake_in_a_renamed_notebook_costs_exactly_its_points(zips, tmp_path):
    assignment_id = exercises.IDS[0]
    mistake = next(m for m in samples.MISTAKES[assignment_id].values() if m.hint)
    tree = tmp_path / "autograder"
    unpack(zips[assignment_id], tree)
    samples.write_py(tmp_path / "py", assignment_id, {mistake.function: mistake.source})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell((tmp_path / "py" / f"{assignment_id}.py").read_text())])
    (tree / "submission").mkdir()
    nbformat.write(nb, tree / "submission" / "My A1 (final).ipynb")  # students name their files freely
    proc = run_autograder(tree)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((tree / "results" / "results.json").read_text())
    validate(results)
    scores = {t["name"]: t["score"] for t in results["tests"] if t["visibility"] == "visible"}
    assert scores == samples.expected_scores(exercises.assignment(assignment_id), (mistake.function,))
    failed = next(t for t in results["tests"] if t["name"] == mistake.function)
    assert failed["status"] == "failed" and failed["extra_data"]["hint"] == mistake.hint
    assert set(failed["extra_data"]) == {"hint", "seconds"} and failed["extra_data"]["seconds"] >= 0


@pytest.mark.parametrize("setting", ["summary", "full"])
def test_hidden_cases_are_shown_after_the_due_date_unless_full(zips, tmp_path, setting):
    """``fires`` with ``>=`` passes every public case; only hidden cases catch it."""
    assignment_id = "a1_neuron"
    zip_path = zips[assignment_id]
    if setting == "full":
        zip_path = gradescope.build(assignment_id, tmp_path / "full", hidden_feedback="full")
        assert b"--hidden-feedback full" in zipfile.ZipFile(zip_path).read("run_autograder")
    tree = tmp_path / "autograder"
    unpack(zip_path, tree)
    wrong = "def fires(a, w, threshold):\n    return bool(weighted_sum(a, w) >= threshold)\n"
    samples.write_py(tree / "submission", assignment_id, {"fires": wrong})
    proc = run_autograder(tree)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((tree / "results" / "results.json").read_text())
    validate(results)
    fires = next(t for t in results["tests"] if t["name"] == "fires")
    assert fires["status"] == "failed" and fires["extra_data"]["hint"] == "greater_or_equal"
    label = "sum exactly at the threshold"
    visible = json.dumps([t for t in results["tests"] if t["visibility"] == "visible"]) + results["output"]
    if setting == "summary":
        assert "hidden case" in fires["output"] and label not in visible and "expected False" not in visible
        details = next(t for t in results["tests"] if t["name"] == "fires: hidden cases")
        assert details["visibility"] == "after_due_date" and label in details["output"]
    else:
        assert "hidden case (" in fires["output"] and "expected False" in fires["output"]
        assert all(t["visibility"] == "visible" for t in results["tests"])


def test_no_notebook_gets_zero_and_says_why(zips, tmp_path):
    assignment_id = exercises.IDS[0]
    tree = tmp_path / "autograder"
    unpack(zips[assignment_id], tree)
    (tree / "submission").mkdir()
    (tree / "submission" / "notes.txt").write_text("I ran out of time")
    proc = run_autograder(tree)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((tree / "results" / "results.json").read_text())
    validate(results)
    assert results["score"] == 0 and f"no {assignment_id}.ipynb" in results["output"]
    assert "notes.txt" in results["output"]


def test_a_grader_fault_still_writes_a_valid_results_json(zips, tmp_path):
    assignment_id = exercises.IDS[0]
    tree = tmp_path / "autograder"
    unpack(zips[assignment_id], tree)  # no submission/ folder: Gradescope never does that
    proc = run_autograder(tree)
    assert proc.returncode == 1
    assert "Traceback" in proc.stdout, "the instructor sees the traceback in Gradescope's stdout"
    results = json.loads((tree / "results" / "results.json").read_text())
    validate(results)
    assert results["score"] == 0 and "autograder itself failed" in results["output"]


def test_released_notebook_is_not_what_we_bundle(zips):
    """The zip holds the solution (Gradescope needs it); the students' release is what they get."""
    assignment_id, path = next(iter(zips.items()))
    with zipfile.ZipFile(path) as zf:
        bundled = zf.read(f"digits/solutions/{assignment_id}/{assignment_id}.ipynb")
    assert bundled == notebook_path(assignment_id).read_bytes()
    assert bundled != (ASSIGNMENTS / assignment_id / f"{assignment_id}.ipynb").read_bytes()
