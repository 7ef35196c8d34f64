"""``grader solutions``: run every reference solution notebook and prove it earns full marks."""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from course import exercises
from grader.authoring.solutions import notebook_path
from grader.grading.grade import grade
from grader.grading.results import grader_fault, read_json
from grader.integrations import notebooks
from grader.reports import report


def check_one(assignment_id: str, *, execute: bool = True) -> tuple[bool, list[str]]:
    """(full marks?, a table row) for one assignment's solution notebook."""
    path = notebook_path(assignment_id)
    with tempfile.TemporaryDirectory(prefix="solutions-") as tmp:
        student = Path(tmp, "class", "reference_solution")
        student.mkdir(parents=True)
        shutil.copy(path, student / path.name)
        start = time.perf_counter()
        problems = []
        if execute:  # in the submission folder, so files the notebook saves (digits.keras) are graded too
            try:
                notebooks.execute(path, cwd=student)
            except Exception as e:  # a failing cell is what we are here to report
                problems.append(f"execution failed: {str(e).strip().splitlines()[-1][:200]}")
        run_seconds = time.perf_counter() - start
        summary = grade(assignment_id, Path(tmp, "class"), Path(tmp, "out"), workers=1, progress=False)
        fault = grader_fault(read_json(Path(tmp, "out", "results", "reference_solution.json")) or {})
    row = summary.rows[0]
    full = row["score"] == row["max_score"]
    if fault:  # no score to blame: the grader itself failed (``StudentResult.grader_fault``)
        problems.append(f"GRADER FAULT: {fault}")
    elif not full:
        failing = [n for n in exercises.assignment(assignment_id).names if float(row[n]) == 0]
        problems.append(f"lost points on {', '.join(failing)}")
    ok = full and not problems
    return ok, [assignment_id, "yes" if execute else "skipped", f"{run_seconds:.1f} s",
                f"{row['score']}/{row['max_score']}", "OK" if ok else "; ".join(problems)]


def main(ids=None, *, execute: bool = True) -> bool:
    rows, all_ok = [], True
    for assignment_id in ids or exercises.IDS:
        ok, row = check_one(assignment_id, execute=execute)
        all_ok &= ok
        rows.append(row)
    print(report.table(["assignment", "executed", "time", "graded", "result"], rows))
    return all_ok
