"""Shared fixtures: the reference solution's functions, and a sample class graded once per session."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def solution():
    """The reference solution's namespace for an assignment, loaded like the grader loads it."""
    from course import source
    from grader.authoring.solutions import notebook_path

    cache = {}

    def load(assignment_id: str) -> dict:
        if assignment_id not in cache:
            namespace, notes = source.execute(source.load_definitions(notebook_path(assignment_id)))
            assert not notes, notes
            cache[assignment_id] = namespace
        return cache[assignment_id]

    return load
