"""``grader assign``: release student notebooks from the solutions, with real nbgrader.

``solutions/<id>/`` is the nbgrader source folder and ``assignments/<id>/`` the release folder.
Generation runs ``nbgrader generate_assignment`` in a scratch course so the repository never
gains a gradebook database, then copies the release back. A test regenerates and compares.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from grader.authoring.solutions import ASSIGNMENTS
from grader.integrations import nbgrader_course


def generate(assignment_id: str, dest: Path) -> Path:
    """Run ``nbgrader generate_assignment`` on ``solutions/<id>``; returns ``dest/<id>``.

    Raises:
        RuntimeError: nbgrader failed; the message carries its output.
    """
    with tempfile.TemporaryDirectory(prefix="nbgrader-course-") as tmp:
        course = nbgrader_course.make(Path(tmp), [assignment_id])
        nbgrader_course.run(course, "generate_assignment", assignment_id, "--force")
        target = Path(dest) / assignment_id
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(course / "release" / assignment_id, target)
    return target


def main(ids) -> list[Path]:
    return [generate(assignment_id, ASSIGNMENTS) for assignment_id in ids]
