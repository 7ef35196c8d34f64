"""Run the real ``nbgrader`` command line in a course folder.

An nbgrader course is a folder with ``source/<id>/`` (our ``solutions/``), ``release/<id>/``
(our ``assignments/``), ``submitted/<student>/<id>/``, ``autograded/`` and a gradebook database.
``grader assign`` and the tests build a scratch course with :func:`make` and drive it with
:func:`run`, so the repository itself never gains a gradebook.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from grader.authoring.solutions import SOLUTIONS
from grader.quiet import QUIET_ENV


def db_url(course: Path) -> str:
    return f"sqlite:///{Path(course).resolve()}/gradebook.db"


def make(course: Path, assignment_ids) -> Path:
    """A course folder whose ``source/`` holds copies of these assignments' solution folders."""
    course = Path(course)
    for assignment_id in assignment_ids:
        shutil.copytree(SOLUTIONS / assignment_id, course / "source" / assignment_id, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.keras", "kernel-*"))
    return course


def run(course: Path, *args: str, timeout: float | None = None) -> str:
    """``nbgrader <args>`` in ``course``; returns what it printed.

    Raises:
        RuntimeError: nbgrader exited non-zero; the message carries its output.
    """
    course = Path(course).resolve()
    nbgrader = Path(sys.executable).with_name("nbgrader")
    cmd = [str(nbgrader), *args, f"--CourseDirectory.root={course}", f"--CourseDirectory.db_url={db_url(course)}"]
    # nbgrader runs `alembic` from PATH; the kernels it starts should be as quiet as ours
    env = {**QUIET_ENV, **os.environ, "PYTHONWARNINGS": "ignore", "MPLBACKEND": "Agg",
           "PATH": f"{nbgrader.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(cmd, cwd=course, capture_output=True, text=True, env=env, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc.stdout + proc.stderr
