"""Keyrings are not namespaced: a key one submission adds to its uid's keyring is there for the
next submission the same fork server grades (same sandbox uid), unless the filter refuses
``add_key``/``keyctl``. Graded on one server, in order, so the channel is certain to exist
without the filter (the corpus's ``keyring_write``/``keyring_read`` may land on two servers).
"""
from __future__ import annotations

import sys
import textwrap

from grader.authoring import samples
from grader.grading.grade import judge_reply
from grader.grading.plan import public_plan
from grader.grading.submissions import Submission
from grader.sandbox.client import Sandbox, decode_reply

corpus = sys.modules["hostile_corpus"]


def test_a_key_left_by_one_submission_is_not_there_for_the_next(tmp_path):
    plan = public_plan("a1_neuron", timeout=5.0)
    cases = {c.name: c for c in corpus.all_cases()}
    scores = {}
    with Sandbox() as box:
        box.configure(plan.functions, load_timeout=plan.load_timeout)
        for name in ("keyring_write", "keyring_read"):  # in this order, on this one server
            overrides = {k: textwrap.dedent(v).strip() + "\n" for k, v in cases[name].overrides.items()}
            folder = tmp_path / name
            path = samples.write_py(folder, "a1_neuron", overrides)
            reply = decode_reply(box.grade(str(path)))
            scores[name] = judge_reply(Submission(name, folder, path), plan, reply, fingerprint="x").scores()
    assert scores["keyring_write"] == samples.expected_scores(plan.assignment, ("fires",)), scores
    assert scores["keyring_read"] == samples.expected_scores(plan.assignment, ("edge_detector",)), scores
