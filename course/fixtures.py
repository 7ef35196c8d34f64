"""The public cases of each assignment, with Keras's answers, shipped as ``course/fixtures/<id>.npz``.

They are written by ``grader fixtures`` (which runs the Keras references) and read here without
TensorFlow. A test regenerates them and compares, so they cannot drift from the references.
"""
from __future__ import annotations

import functools
from pathlib import Path

from course import codec
from course.exercises.base import Case

FIXTURES = Path(__file__).with_name("fixtures")


def fixture_path(assignment_id: str) -> Path:
    return FIXTURES / f"{assignment_id}.npz"


def case_to_plain(case: Case, *, with_answer: bool = True) -> dict:
    plain = {"args": tuple(case.args), "kwargs": dict(case.kwargs), "label": case.label, "hidden": case.hidden}
    if with_answer:
        plain.update(expected=case.expected, probe=case.probe)
    return plain


def case_from_plain(d: dict) -> Case:
    return Case(args=tuple(d["args"]), kwargs=dict(d.get("kwargs", {})), label=d.get("label", ""),
                expected=d.get("expected"), hidden=bool(d.get("hidden", False)), probe=d.get("probe"))


def encode_cases(cases: dict[str, list[Case]]) -> bytes:
    return codec.encode({name: [case_to_plain(c) for c in cs] for name, cs in cases.items()})


def decode_cases(data: bytes) -> dict[str, list[Case]]:
    return {name: [case_from_plain(d) for d in cs] for name, cs in codec.decode(data).items()}


@functools.lru_cache(maxsize=None)
def public_cases(assignment_id: str) -> dict[str, list[Case]]:
    """The public cases of an assignment, by function name.

    Raises:
        FileNotFoundError: the fixture file is missing; ``grader fixtures`` writes it.
    """
    path = fixture_path(assignment_id)
    if not path.is_file():
        raise FileNotFoundError(f"no public cases for {assignment_id} at {path}: run `grader fixtures`")
    return decode_cases(path.read_bytes())
