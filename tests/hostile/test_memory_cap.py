"""Memory capped per submission, not per process: ten processes, each far under the per-process
limit, together hold more than the cap; the cgroup stops them and costs only that function.

The corpus (``memory_across_processes``) runs the same attack under the default 2 GB cap and a
2 s timeout, which on a slow machine may run out first; here the cap is small (512 MB) and the
timeout generous, so the message must be the memory limit's.
"""
from __future__ import annotations

import os
import sys
import textwrap

import pytest

from grader.authoring import samples
from grader.grading.grade import judge_reply
from grader.grading.plan import public_plan
from grader.grading.submissions import Submission
from grader.sandbox.cgroup import Cgroups
from grader.sandbox.client import Sandbox, decode_reply

corpus = sys.modules["hostile_corpus"]  # loaded by conftest.py
MB = 2**20
LIMITS = {"memory": 512 * MB, "output": MB, "processes": 16}


def _cgroups_here() -> bool:
    if os.geteuid() != 0:
        return False
    probe = Cgroups.create(f"digits-grader-{os.getpid()}")
    if probe is None:
        return False
    probe.close()
    return True


pytestmark = pytest.mark.skipif(not _cgroups_here(), reason="needs root and a cgroup (v1 or v2) with memory and pids")

ATTACK = textwrap.dedent(corpus.memory_across_processes(helper_mb=96, enough_mb=900))  # 960 MB together


def test_processes_that_together_exceed_the_cap_cost_only_their_function(tmp_path, leftover_check):
    set_subreaper, descendants_left = leftover_check
    plan = public_plan("a1_neuron", timeout=5.0)
    folder = tmp_path / "student"
    path = samples.write_py(folder, "a1_neuron", {"sigmoid": ATTACK.strip() + "\n"})
    set_subreaper(True)
    with Sandbox() as box:
        box.configure(plan.functions, limits=LIMITS, load_timeout=plan.load_timeout)
        reply = decode_reply(box.grade(str(path)))
    left = descendants_left()
    result = judge_reply(Submission("student", folder, path), plan, reply, fingerprint="x")
    scores = result.scores()
    stages = {f["name"]: f for f in reply["functions"]}
    assert scores["sigmoid"] == 0, stages["sigmoid"]
    assert stages["sigmoid"]["detail"].startswith("memory limit: 512 MB"), stages["sigmoid"]
    assert scores == samples.expected_scores(plan.assignment, ("sigmoid",))  # every honest point kept
    assert left == []
