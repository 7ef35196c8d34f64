"""What pictures in the feedback pages cost, per submission, against pages without them.

1. Rendering alone: ``feedback.render`` for every student of the sample class, without pictures
   (the baseline), with pictures from a cold cache, and again with the cache warm (a class where
   the same mistakes come back, as they do).
2. End to end: ``grader.grading.grade`` on the sample class copied ``--copies`` times, pictures on vs
   off, alternating, with the CPU of the grading workers (which judge, render the pages and draw
   the pictures; each run's workers start with no picture drawn).

    .venv/bin/python benchmarks/feedback_pictures.py [--assignment a1_neuron] [--copies 8]

Timings on a shared machine are noisy: compare the ratios, and run it twice.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from grader import pictures
from grader.authoring import samples
from grader.grading.grade import grade, grade_submission, make_plan, open_sandboxes
from grader.grading.submissions import discover
from grader.reports import feedback


def per_page(results, *, pictures_on: bool) -> float:
    start = time.perf_counter()
    for r in results:
        feedback.render(r, pictures=pictures_on)
    return (time.perf_counter() - start) / len(results)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--assignment", default="a1_neuron")
    p.add_argument("--copies", type=int, default=8)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pictures-") as tmp:
        one = Path(tmp, "one")
        samples.sample_class(args.assignment, one, with_loop=False)
        plan = make_plan(args.assignment, seed=0)
        sandboxes = open_sandboxes(plan)
        try:
            results = [grade_submission(sub, plan, sandboxes) for sub in discover(one, args.assignment)]
        finally:
            for sandbox in sandboxes.values():
                sandbox.close()
        failing = sum(any(not e.passed for e in r.exercises) for r in results)
        per_page(results, pictures_on=True)  # import matplotlib and warm its font cache: not per page
        base = statistics.median(per_page(results, pictures_on=False) for _ in range(5))
        pictures._CACHE.clear()
        cold = per_page(results, pictures_on=True)
        warm = statistics.median(per_page(results, pictures_on=True) for _ in range(5))
        print(f"rendering {len(results)} feedback pages ({failing} with a failing exercise):")
        print(f"  no pictures        {base * 1e3:7.2f} ms/page  (baseline)")
        drawn = sum(uri is not None for uri in pictures._CACHE.values())
        print(f"  pictures, cold     {cold * 1e3:7.2f} ms/page  ({cold / base:5.1f}x); {drawn} pictures drawn, "
              f"{(cold - base) * len(results) / max(drawn, 1) * 1e3:.0f} ms each")
        print(f"  pictures, cached   {warm * 1e3:7.2f} ms/page  ({warm / base:5.1f}x)")

        many = Path(tmp, "many")
        for folder in sorted(one.iterdir()):
            for i in range(args.copies):
                shutil.copytree(folder, many / f"{folder.name}_{i}")
        n = len(list(many.iterdir()))
        # Wall time on a shared machine swings by seconds; the grading workers' CPU (where the
        # pages and their pictures are made) much less
        print(f"grader grade, {n} submissions ({args.copies} copies of each), cold picture cache each run:")
        for flag in (False, True, False, True):
            start = time.perf_counter()
            summary = grade(args.assignment, many, Path(tmp, f"out-{flag}-{time.time_ns()}"), seed=0,
                            progress=False, pictures=flag)
            wall = time.perf_counter() - start
            workers = summary.cpu_breakdown.get("grading workers", 0.0)
            print(f"  {'pictures   ' if flag else 'no pictures'}  {wall:6.2f} s wall, {n / wall:6.1f} submissions/s; "
                  f"grading workers' CPU {workers * 1e3 / n:6.2f} ms/submission")

if __name__ == "__main__":
    main()
