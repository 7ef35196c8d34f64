"""Keras references: every expected answer the grader compares with is computed here, by Keras.

Each assignment module defines ``inputs(rng, hidden) -> {function: [Case]}`` (cases without
answers) and ``ANSWERS: {function: answer(case) -> expected}`` computed by an equivalent Keras
model. Public cases (fixed seed) ship as fixtures; hidden cases are drawn per grading run.
"""
from __future__ import annotations

import dataclasses
import importlib

import numpy as np

PUBLIC_SEED = 20261125


def module(assignment_id: str):
    return importlib.import_module(f"grader.references.{assignment_id}")


def answered(assignment_id: str, rng: np.random.Generator, *, hidden: bool) -> dict:
    """Draw an assignment's cases and fill in Keras's answers."""
    ref = module(assignment_id)
    return {
        name: [dataclasses.replace(c, expected=ref.ANSWERS[name](c), hidden=hidden) for c in cases]
        for name, cases in ref.inputs(rng, hidden=hidden).items()
    }


def public_cases(assignment_id: str) -> dict:
    return answered(assignment_id, np.random.default_rng(PUBLIC_SEED), hidden=False)


def hidden_cases(assignment_id: str, seed: int) -> dict:
    return answered(assignment_id, np.random.default_rng([seed, PUBLIC_SEED]), hidden=True)
