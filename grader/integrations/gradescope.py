"""``grader gradescope <assignment>``: build the autograder zip Gradescope expects.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once (as root) to
build the image, and runs ``run_autograder`` for every submission, which must write
``/autograder/results/results.json`` (https://gradescope-autograders.readthedocs.io/en/latest/specs/).
The zip holds:

- ``setup.sh``: finds (or installs) Python 3.11+, makes ``/autograder/venv`` and pip-installs the
  bundled project with its dependencies (TensorFlow, Keras, …);
- ``run_autograder``: runs ``python -m grader.integrations.gradescope_run`` with the bundled code first on
  ``PYTHONPATH``, so the grader, its Keras references and the solution notebook (for the
  no-double-penalty callees) are exactly the ones zipped here;
- ``digits/``: ``pyproject.toml``, ``README.md``, ``course/``, ``grader/`` and only this
  assignment's ``solutions/<id>/``. The zip is for the instructor's Gradescope account only:
  it contains the solution, as any autograder must.

``AUTOGRADER_ROOT`` (default ``/autograder``) and ``AUTOGRADER_PYTHON`` (default the venv's
python) let a test run the same scripts in a fake tree.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from course import exercises
from grader.authoring.solutions import ROOT, SOLUTIONS
from grader.grading.results import check_hidden_feedback

BUNDLE = "digits"
"""the folder inside the zip (and ``/autograder/source``) holding the project"""
_FIXED_TIME = (2024, 1, 1, 0, 0, 0)  # same bytes for the same sources, whenever it is built
_SKIP = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}

SETUP = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PY=""
for candidate in python3.12 python3.11 python3.13; do
  if command -v "$candidate" >/dev/null 2>&1; then PY="$candidate"; break; fi
done
if [ -z "$PY" ]; then  # Gradescope's default Ubuntu 22.04 image has Python 3.10
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y python3.11 python3.11-venv
  PY=python3.11
fi
"$PY" -m venv "$ROOT/venv" || {
  DEBIAN_FRONTEND=noninteractive apt-get install -y "$PY-venv"
  "$PY" -m venv "$ROOT/venv"
}
"$ROOT/venv/bin/python" -m pip install --upgrade pip
"$ROOT/venv/bin/python" -m pip install "$ROOT/source/{bundle}[grader]"   # the instructor side: Keras, nbformat, …
"$ROOT/venv/bin/python" -c "import grader.grading.grade"   # fail the build now, not at the first submission
"""

RUN = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission; it writes $ROOT/results/results.json.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}}"
export PYTHONPATH="$ROOT/source/{bundle}${{PYTHONPATH:+:$PYTHONPATH}}"
export MPLBACKEND=Agg
cd "$ROOT"
exec "$PYTHON" -m grader.integrations.gradescope_run {assignment} --root "$ROOT" --seed {seed} --hidden-feedback {hidden_feedback}
"""


def _project_files(assignment_id: str):
    """(path on disk, path in the bundle) for everything the grader needs to run."""
    yield ROOT / "pyproject.toml", "pyproject.toml"
    yield ROOT / "README.md", "README.md"
    for top in (ROOT / "course", ROOT / "grader", SOLUTIONS / assignment_id):
        for path in sorted(top.rglob("*")):
            rel = path.relative_to(ROOT)
            if path.is_file() and not _SKIP & set(rel.parts) and path.suffix != ".pyc":
                yield path, rel.as_posix()


def _add(zf: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.external_attr = (0o100000 | mode) << 16  # a regular file with these permissions
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build(assignment_id: str, out_dir: Path, *, seed: int = 0, hidden_feedback: str = "summary") -> Path:
    """Write ``<out_dir>/<assignment_id>-gradescope.zip``; returns its path.

    ``hidden_feedback="summary"``: students see how many hidden cases passed (and the hint); each
    function's hidden cases in full are a test of their own, visible after the due date.
    ``"full"``: students see every hidden case at once.

    Raises:
        KeyError: unknown assignment. ValueError: unknown ``hidden_feedback``.
    """
    exercises.assignment(assignment_id)  # a clear KeyError for a typo
    check_hidden_feedback(hidden_feedback)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{assignment_id}-gradescope.zip"
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        _add(zf, "setup.sh", SETUP.replace("{bundle}", BUNDLE).encode(), 0o755)
        _add(zf, "run_autograder", RUN.format(bundle=BUNDLE, assignment=assignment_id, seed=int(seed),
                                        hidden_feedback=hidden_feedback).encode(),
             0o755)
        for path, rel in _project_files(assignment_id):
            _add(zf, f"{BUNDLE}/{rel}", path.read_bytes())
    tmp.replace(target)
    return target
