"""``make demo``: run the reference solutions, grade the bundled sample class, print the tables."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from course import exercises
from grader import check_solutions, report, samples
from grader.grade import grade

OUT = Path("demo-out")


def main() -> int:
    print("== Reference solutions (executed headless, then graded)")
    if not check_solutions.main():
        return 1
    for assignment_id in exercises.IDS:
        class_dir = OUT / "class" / assignment_id
        shutil.rmtree(class_dir, ignore_errors=True)
        samples.sample_class(assignment_id, class_dir)
        out = OUT / "graded" / assignment_id
        shutil.rmtree(out, ignore_errors=True)
        print(f"\n== Sample class for {assignment_id}: grader grade {assignment_id} {class_dir} --out {out} --timeout 3")
        summary = grade(assignment_id, class_dir, out, timeout=3)
        print(report.summary_table(summary, assignment_id))
        print(f"graded {summary.graded} submissions in {summary.seconds:.1f} s; feedback in {out}/feedback/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
