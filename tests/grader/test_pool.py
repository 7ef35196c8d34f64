"""The local worker pool: workers and fork servers forked by zygotes, and a run that loses any of
these processes still grades everyone."""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time

import pytest

from grader import samples

from .conftest import children, cmdline

STUDENTS = 400


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    path = tmp_path_factory.mktemp("plan") / "a1.plan"
    made = subprocess.run([sys.executable, "-m", "grader.cli", "plan", "a1_neuron", "--out", str(path)],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    return path


LOSSES = {
    "a worker": ("worker",),
    "the workers' zygote, then a worker": ("workers' zygote", "worker"),
    "the servers' zygote, then a worker": ("servers' zygote", "worker"),  # its servers then start afresh
    "a fork server": ("fork server",),  # its worker forks another
}


@pytest.mark.parametrize("lost", LOSSES.values(), ids=LOSSES.keys())
def test_a_run_that_loses_a_process_still_grades_everyone(tmp_path, plan, lost):
    if lost != ("worker",) and os.geteuid() != 0:
        pytest.skip("as an ordinary user, workers and fork servers are started afresh, without zygotes")
    expected = samples.synthetic_class("a1_neuron", tmp_path / "class", STUDENTS)
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-m", "grader.cli", "grade", "a1_neuron", str(tmp_path / "class"),
                            "--out", str(out), "--plan", str(plan), "--workers", "2", "--no-pictures"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(list((out / "results").glob("*.json"))) < 10:  # grading is under way
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.02)
    pool = [p for p in children(run.pid) if "grader.grading.pool" in cmdline(p)]
    zygotes = [p for p in pool if "--zygote" in cmdline(p)]
    server_zygotes = [p for p in children(run.pid) if "grader.sandbox.server" in cmdline(p) and "--zygote" in cmdline(p)]
    assert len(zygotes) == len(server_zygotes) == (os.geteuid() == 0)  # root's runs fork from them
    workers = children(zygotes[0]) if zygotes else pool
    assert len(workers) == 2
    processes = {"worker": workers[0]}
    if zygotes:
        processes.update({"workers' zygote": zygotes[0], "servers' zygote": server_zygotes[0],
                          "fork server": children(server_zygotes[0])[0]})
        assert len(children(server_zygotes[0])) == 2  # one per worker
    for name in lost:
        os.kill(processes[name], signal.SIGKILL)
    assert run.poll() is None, "the run ended before a worker could be lost: make the class bigger"
    stdout, stderr = run.communicate(timeout=300)
    assert run.returncode == 0, stderr
    assert "GRADER FAULT" not in stderr
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(expected)
    wrong = [s for s, scores in expected.items()
             if any(float(rows[s][name]) != score for name, score in scores.items())]
    assert not wrong, wrong[:5]
