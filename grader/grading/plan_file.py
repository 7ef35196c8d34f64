"""``grader plan``'s files: the Keras answers computed once, reused by any grading machine.

A plan file is one ``course.codec`` archive (JSON plus raw arrays, never pickle; every member
CRC-checked on reading): a header naming the format, assignment, seed and grader version, and
the plan itself (``Plan.to_plain``). ``read_plan`` refuses a file made for another assignment,
seed or grader version, or one that is damaged, with a one-line ``PlanFileError``. Grading with
a plan file needs no TensorFlow: only the course package, NumPy and matplotlib.
"""
from __future__ import annotations

import os
from pathlib import Path

from course import codec
from grader.grading.plan import Plan
from grader.grading.results import GRADER_VERSION, atomic_write

FORMAT = "digits-grading-plan/1"


class PlanFileError(ValueError):
    """A plan file that can't be used for this run (mismatched, damaged or not a plan)."""


def write_plan(plan: Plan, path: str | os.PathLike) -> Path:
    """Save ``plan`` (made with the exercises' own timeouts: ``--timeout`` applies when grading)."""
    path = Path(path)
    atomic_write(path, codec.encode({"format": FORMAT, "assignment": plan.assignment.id, "seed": plan.seed,
                                     "grader_version": GRADER_VERSION, "plan": plan.to_plain()}), durable=True)
    return path


def read_plan(path: str | os.PathLike, *, assignment_id: str, seed: int | None = None,
              timeout: float | None = None) -> Plan:
    """The plan in ``path``, checked against this run; ``timeout`` (s per function) as ``make_plan``'s.

    Raises:
        PlanFileError: another assignment, seed or grader version, or a damaged file.
        OSError: the file can't be read.
    """
    data = Path(path).read_bytes()
    try:
        saved = codec.decode(data)
    except codec.CodecError as e:
        raise PlanFileError(f"{path} is not a readable plan file (damaged or truncated?): {e}") from None
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise PlanFileError(f"{path} is not a plan file written by `grader plan` (expected format {FORMAT})")
    made = (saved.get("assignment"), saved.get("seed"), saved.get("grader_version"))
    wanted = (assignment_id, saved.get("seed") if seed is None else seed, GRADER_VERSION)
    if made != wanted:
        raise PlanFileError(f"{path} was made for {made[0]}, seed {made[1]}, grader version {made[2]}; this run "
                            f"grades {wanted[0]}, seed {wanted[1]}, grader version {wanted[2]}: run `grader plan "
                            f"{assignment_id} --seed {wanted[1]} --out {path}` again")
    try:
        plan = Plan.from_plain(saved["plan"])
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise PlanFileError(f"{path} holds an incomplete plan ({type(e).__name__}: {e})") from None
    if plan.assignment.id != assignment_id or plan.seed != made[1]:
        raise PlanFileError(f"{path}: its header and its plan disagree (damaged?)")
    if timeout:  # as make_plan(timeout=...) would have made it
        for spec in plan.functions:
            spec["timeout"] = float(timeout)
        plan.load_timeout = float(timeout)
    return plan


class Ready:
    """A plan already in hand, with ``PlanProcess``'s interface (``result``, ``cancel``, ``cpu``)."""

    cpu = 0.0

    def __init__(self, plan: Plan):
        self.plan = plan

    def result(self) -> Plan:
        return self.plan

    def cancel(self) -> None:
        pass
