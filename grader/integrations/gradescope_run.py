"""What ``run_autograder`` runs inside Gradescope: grade ``<root>/submission`` into ``results.json``.

The submission is copied into a one-student class folder and graded by ``grader.grading.grade`` exactly
as a class would be (sandboxed, Keras references, hidden cases for ``--seed``); that student's
Gradescope JSON becomes ``<root>/results/results.json``. Students upload files with the names
they like, so when there is no ``<id>.ipynb``/``<id>.py`` but exactly one notebook (or one
``.py`` file), that one is graded. Whatever happens, a ``results.json`` is written: a grader
fault gives 0 points and says so, and the traceback goes to stdout, which only instructors see.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import traceback
from pathlib import Path

from course import exercises
from grader.grading import grade as grading
from grader.grading.grade import grade
from grader.grading.results import atomic_write, file_name, grader_fault


def student_name(root: Path) -> str:
    """A folder-safe name for the submitter, from Gradescope's ``submission_metadata.json``."""
    try:
        users = json.loads((root / "submission_metadata.json").read_text()).get("users") or []
        name = str(users[0].get("email") or users[0].get("name") or users[0].get("id"))
    except (OSError, ValueError, AttributeError, IndexError, TypeError):
        name = ""
    return re.sub(r"[^\w.@+-]", "_", name)[:100].strip("._") or "student"


def stage(submission: Path, folder: Path, assignment_id: str) -> None:
    """Copy the upload into ``folder``, naming a lone notebook or script ``<id>.ipynb``/``<id>.py``."""
    shutil.copytree(submission, folder, symlinks=True)
    if any((folder / f"{assignment_id}{suffix}").exists() for suffix in (".ipynb", ".py")):
        return
    for suffix in (".ipynb", ".py"):
        found = [p for p in folder.rglob(f"*{suffix}") if p.is_file() and not p.is_symlink()
                 and ".ipynb_checkpoints" not in p.parts]
        if len(found) == 1:
            shutil.copy(found[0], folder / f"{assignment_id}{suffix}")
            return


def fault(assignment_id: str, message: str) -> dict:
    a = exercises.assignment(assignment_id)
    return {"score": 0.0, "output": f"The autograder itself failed, not your code: {message}. "
                                    "Your instructor can see the details; please tell them.",
            "output_format": "text",
            "tests": [{"name": ex.name, "score": 0.0, "max_score": ex.points, "status": "failed",
                       "output": "not graded: the autograder failed"} for ex in a.exercises]}


def run(assignment_id: str, root: Path, *, seed: int = 0, hidden_feedback: str = "summary") -> dict:
    """Grade ``root/submission``; returns the results written to ``root/results/results.json``.

    ``hidden_feedback="summary"`` puts each function's hidden cases in a test of their own,
    visible after the due date (``grader.grading.results``).
    """
    root = Path(root)
    print(f"grading {assignment_id} with {Path(grading.__file__).parent} (seed {seed})", flush=True)
    with tempfile.TemporaryDirectory(prefix="gradescope-") as tmp:
        student = student_name(root)
        stage(root / "submission", Path(tmp, "class", student), assignment_id)
        out = Path(tmp, "out")
        summary = grade(assignment_id, Path(tmp, "class"), out, workers=1, seed=seed, progress=False,
                        hidden_feedback=hidden_feedback)
        results = json.loads((out / "results" / file_name(student, ".json")).read_text())
    print(f"score {results['score']:g} / {exercises.assignment(assignment_id).max_score:g} "
          f"in {summary.seconds:.1f} s", flush=True)
    return results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m grader.integrations.gradescope_run")
    p.add_argument("assignment")
    p.add_argument("--root", default="/autograder", help="Gradescope's /autograder folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hidden-feedback", choices=("summary", "full"), default="summary")
    args = p.parse_args(argv)
    target = Path(args.root) / "results" / "results.json"
    try:
        results = run(args.assignment, Path(args.root), seed=args.seed, hidden_feedback=args.hidden_feedback)
        status = 1 if grader_fault(results) else 0  # the grader's installation failed, not the student
    except Exception as e:
        traceback.print_exc(file=sys.stdout)
        results, status = fault(args.assignment, type(e).__name__), 1
    atomic_write(target, json.dumps(results, indent=1))
    print(f"wrote {target}")
    return status


if __name__ == "__main__":
    sys.exit(main())
