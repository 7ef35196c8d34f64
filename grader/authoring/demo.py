"""``make demo``: run the reference solutions, grade the bundled sample class, print the tables,
and compare the class's submissions with ``grader similarity`` (its report links the results)."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from course import exercises
from grader import similarity
from grader.authoring import check_solutions, sample_models, samples
from grader.grading.grade import grade
from grader.reports import report

OUT = Path("demo-out")


def main() -> int:
    print("== Reference solutions (executed headless, then graded)")
    if not check_solutions.main():
        return 1
    for assignment_id in exercises.IDS:
        class_dir = OUT / "class" / assignment_id
        shutil.rmtree(class_dir, ignore_errors=True)
        samples.sample_class(assignment_id, class_dir, artifacts=sample_models.artifacts(assignment_id))
        out = OUT / "graded" / assignment_id
        shutil.rmtree(out, ignore_errors=True)
        # a class with an infinite loop is cut short; others keep each exercise's limit (A4 trains networks)
        timeout = 3 if "infinite_loop" in samples.MISTAKES.get(assignment_id, {}) else None
        flag = f" --timeout {timeout}" if timeout else ""
        print(f"\n== Sample class for {assignment_id}: grader grade {assignment_id} {class_dir} --out {out}{flag}")
        summary = grade(assignment_id, class_dir, out, timeout=timeout)
        print(report.summary_table(summary, assignment_id))
        print(f"graded {summary.graded} submissions in {summary.seconds:.1f} s; feedback in {out}/feedback/")
        alike = similarity.run(assignment_id, class_dir, out)
        top = ""
        if alike.pairs:
            a, b, score = alike.pairs[0]
            top = f"; most alike: {a} and {b} ({score:.2f})"
        print(f"grader similarity: {len(alike.pairs)} pairs share rare code{top}; see {out}/similarity/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
