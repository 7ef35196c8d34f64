"""``grader plan`` and ``grader grade --plan``: the Keras answers computed once, graded with
no TensorFlow at all, and refused (one line, non-zero exit) when they don't fit the run."""
import os
import subprocess
import sys

import pytest

from course import codec
from grader.grading import plan_file
from grader.grading.plan import public_plan

BLOCKER = """import importlib.abc, sys
class _NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
            raise ImportError(f"{name} is not installed on this grading machine (blocked by the test)")
        return None
sys.meta_path.insert(0, _NoTensorFlow())
"""


def cli(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader.cli", *map(str, args)], capture_output=True, text=True,
                          env=env)


@pytest.fixture
def without_tensorflow(tmp_path):
    """An environment where ``import tensorflow`` (or keras) fails, in every process it starts."""
    site = tmp_path / "no-tensorflow"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    probe = subprocess.run([sys.executable, "-c", "import tensorflow"], capture_output=True, text=True, env=env)
    assert probe.returncode != 0 and "blocked by the test" in probe.stderr  # the blocker works
    return env


def test_grading_with_a_plan_needs_no_tensorflow_and_grades_exactly_as_without(a1_plan, without_tensorflow,
                                                                               graded_class, tmp_path, results):
    here = graded_class("a1_neuron")
    proc = cli("grade", "a1_neuron", here.class_dir, "--out", tmp_path / "out", "--plan", a1_plan,
               env=without_tensorflow)
    assert proc.returncode == 0, proc.stderr
    assert "0.0 s computing the Keras references" in proc.stdout
    assert (tmp_path / "out" / "grades.csv").read_bytes() == (here.out / "grades.csv").read_bytes()
    assert results(tmp_path / "out") == results(here.out)
    for page in (here.out / "feedback").iterdir():
        assert (tmp_path / "out" / "feedback" / page.name).read_bytes() == page.read_bytes(), page.name


def damaged(path, tmp_path, how: str):
    data = bytearray(path.read_bytes())
    if how == "truncated":
        data = data[: len(data) // 2]
    elif how == "flipped":
        data[len(data) // 3] ^= 0xFF
    elif how == "empty":
        data = bytearray()
    elif how == "not a plan":
        data = bytearray(codec.encode({"hello": "world"}))
    out = tmp_path / f"{how.replace(' ', '_')}.plan"
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize("how", ["truncated", "flipped", "empty", "not a plan"])
def test_a_damaged_plan_is_refused_in_one_line(a1_plan, tmp_path, how):
    (tmp_path / "class" / "ada").mkdir(parents=True)
    proc = cli("grade", "a1_neuron", tmp_path / "class", "--out", tmp_path / "out", "--plan",
               damaged(a1_plan, tmp_path, how))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("grader: "), proc.stderr
    assert "plan file" in proc.stderr
    assert not (tmp_path / "out" / "grades.csv").exists()


@pytest.mark.parametrize("args, mismatch", [(["a2_layer"], "this run grades a2_layer, seed 0"),
                                            (["a1_neuron", "--seed", "7"], "this run grades a1_neuron, seed 7")])
def test_a_plan_for_another_assignment_or_seed_is_refused_in_one_line(a1_plan, tmp_path, args, mismatch):
    (tmp_path / "class" / "ada").mkdir(parents=True)
    proc = cli("grade", args[0], tmp_path / "class", "--out", tmp_path / "out", "--plan", a1_plan, *args[1:])
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "was made for a1_neuron, seed 0" in proc.stderr and mismatch in proc.stderr


def test_a_plan_from_another_grader_version_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "old.plan"
    monkeypatch.setattr(plan_file, "GRADER_VERSION", plan_file.GRADER_VERSION - 1)
    plan_file.write_plan(public_plan("a1_neuron"), path)
    monkeypatch.undo()
    with pytest.raises(plan_file.PlanFileError, match=f"grader version {plan_file.GRADER_VERSION - 1}; "):
        plan_file.read_plan(path, assignment_id="a1_neuron")


def test_a_plan_round_trips_and_takes_the_runs_timeout(tmp_path):
    plan = public_plan("a1_neuron")
    plan_file.write_plan(plan, tmp_path / "p.plan")
    again = plan_file.read_plan(tmp_path / "p.plan", assignment_id="a1_neuron", seed=0, timeout=3)
    assert again.assignment.id == "a1_neuron" and again.seed == 0 and again.load_timeout == 3.0
    assert [f["name"] for f in again.functions] == [f["name"] for f in plan.functions]
    assert {f["timeout"] for f in again.functions} == {3.0}
    assert codec.encode(again.to_plain()["cases"]) == codec.encode(plan.to_plain()["cases"])
