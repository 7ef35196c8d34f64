"""``grader assign``: release student notebooks from the solutions, with real nbgrader.

``solutions/<id>/`` is the nbgrader source folder and ``assignments/<id>/`` the release folder.
Generation runs ``nbgrader generate_assignment`` in a scratch course so the repository never
gains a gradebook database, then copies the release back. A test regenerates and compares.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from grader.solutions import ASSIGNMENTS, SOLUTIONS


def generate(assignment_id: str, dest: Path) -> Path:
    """Run ``nbgrader generate_assignment`` on ``solutions/<id>``; returns ``dest/<id>``.

    Raises:
        RuntimeError: nbgrader failed; the message carries its output.
    """
    with tempfile.TemporaryDirectory(prefix="nbgrader-course-") as tmp:
        course = Path(tmp)
        shutil.copytree(SOLUTIONS / assignment_id, course / "source" / assignment_id,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.keras"))  # no trained model ships
        nbgrader = Path(sys.executable).with_name("nbgrader")
        cmd = [str(nbgrader), "generate_assignment", assignment_id, "--force",
               f"--CourseDirectory.root={course}", f"--CourseDirectory.db_url=sqlite:///{course}/gradebook.db"]
        path = f"{nbgrader.parent}{os.pathsep}{os.environ.get('PATH', '')}"  # nbgrader runs alembic
        proc = subprocess.run(cmd, cwd=course, capture_output=True, text=True,
                              env={**os.environ, "PATH": path, "PYTHONWARNINGS": "ignore"})
        if proc.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment {assignment_id} failed:\n{proc.stdout}{proc.stderr}")
        target = Path(dest) / assignment_id
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(course / "release" / assignment_id, target)
    return target


def main(ids) -> list[Path]:
    return [generate(assignment_id, ASSIGNMENTS) for assignment_id in ids]
