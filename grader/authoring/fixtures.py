"""Regenerate the public fixtures (``course/fixtures/<id>.npz``) from the Keras references."""
from __future__ import annotations

from course import exercises
from course.fixtures import encode_cases, fixture_path
from grader import references


def build(assignment_id: str) -> bytes:
    return encode_cases(references.public_cases(assignment_id))


def write_all(ids=exercises.IDS) -> list[str]:
    written = []
    for assignment_id in ids:
        path = fixture_path(assignment_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(build(assignment_id))
        written.append(str(path))
    return written


if __name__ == "__main__":
    for p in write_all():
        print("wrote", p)
