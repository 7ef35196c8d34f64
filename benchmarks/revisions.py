"""Another revision of this project, to measure against in the same run (``--baseline REV``).

``git archive`` of that revision, unpacked into a folder; its commands run from there with that
folder first on ``PYTHONPATH`` (``python -m`` puts the working folder first too), so its fork
servers, workers and plan process are that revision's as well, with this checkout's virtual
environment. Used by ``grading.py`` (A4) and ``startup.py``.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def checkout(revision: str, folder: Path) -> tuple[list[str], dict]:
    """(the ``grader`` command, ``subprocess`` keyword arguments) for ``revision``, unpacked into
    ``folder`` (made here)."""
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return [sys.executable, "-m", "grader.cli"], {"cwd": folder, "env": {**os.environ, "PYTHONPATH": str(folder)}}
