"""How ``grader grade`` scales with cores: 1, 2, 4, … workers locally, then on a local Dask cluster.

    .venv/bin/python benchmarks/scaling.py [--students 2000] [--plan-a1 a1.plan --plan-a3 a3.plan]

Grades the same synthetic A1 and A3 classes (``grader.authoring.samples.synthetic_class``: half correct,
four in ten with one typical mistake, one in ten stubs) with the real ``grader grade`` command,
``--workers 1, 2, 4, …`` up to this machine's cores, then with ``--scheduler`` on a
``dask.distributed.LocalCluster`` of as many single-threaded worker processes. Each row prints
submissions/s in the grading phase (as ``grader grade`` reports it), the speed-up over one
worker of the same kind, CPU ms per submission over every process (measured here, from the
kernel's accounting of the whole process tree) and by kind of process (as ``grader grade``
reports it), and how many scores differ from what the submissions deserve or from one worker's.

Given plan files (``grader plan <id> --seed 0 --out FILE``) nothing here imports TensorFlow, so
it runs on any grading machine with the ``worker`` extra; without them it makes the plans first.
Timings are wall-clock on whatever else the machine is doing: the load average is printed.
"""
from __future__ import annotations

import argparse
import csv
import logging
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.authoring import samples  # noqa: E402
from grader.reports import report  # noqa: E402

GRADER = [sys.executable, "-m", "grader.cli"]
TICK = os.sysconf("SC_CLK_TCK")


def load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def worker_counts(cores: int) -> list[int]:
    counts, n = [], 1
    while n < cores:
        counts.append(n)
        n *= 2
    return counts + [cores]


def tree_cpu(pid: int) -> float:
    """CPU seconds of a live process tree: each process's own, and its waited-for children's."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15]) / TICK  # utime stime cutime cstime
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError, IndexError):
            continue
    return total


def grade(assignment_id: str, class_dir: Path, out: Path, plan: Path, args, how: list[str]) -> dict:
    """One ``grader grade`` run; the figures it printed, and the CPU this whole machine spent."""
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    before_tree = tree_cpu(os.getpid())  # this process and, for Dask, its cluster
    cmd = [*GRADER, "grade", assignment_id, str(class_dir), "--out", str(out), "--plan", str(plan),
           "--timeout", str(args.timeout), *how]
    if args.no_pictures:
        cmd.append("--no-pictures")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = (after_children.ru_utime + after_children.ru_stime
               - before_children.ru_utime - before_children.ru_stime)
    rest = tree_cpu(os.getpid()) - before_tree - command  # the cluster's processes (and this one's)
    rate = re.search(r"\(([\d.]+) submissions/s once", proc.stdout)
    parts = re.search(r"ms per submission, (.*)\), [\d.]+ s computing", proc.stdout)
    return {"rate": float(rate.group(1)) if rate else float("nan"), "parts": parts.group(1) if parts else "",
            "cpu": command + max(rest, 0.0)}


def wrong_scores(out: Path, expected: dict[str, dict[str, float]]) -> int:
    with open(out / "grades.csv") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    wrong = [s for s, scores in expected.items()
             if s not in rows or any(float(rows[s][name]) != points for name, points in scores.items())]
    return len(wrong) + len(set(rows) - set(expected))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=2000, help="submissions per class (.py)")
    parser.add_argument("--assignments", nargs="*", default=["a1_neuron", "a3_network"])
    parser.add_argument("--plan-a1", type=Path, default=None, help="`grader plan a1_neuron --seed 0` file")
    parser.add_argument("--plan-a3", type=Path, default=None, help="`grader plan a3_network --seed 0` file")
    parser.add_argument("--workers", default=None, help="comma-separated worker counts (default: 1, 2, 4, … cores)")
    parser.add_argument("--no-dask", action="store_true", help="local runs only")
    parser.add_argument("--no-local", action="store_true",
                        help="Dask runs only (grades.csv is then compared with 1 Dask worker's)")
    parser.add_argument("--no-pictures", action="store_true", help="grader grade --no-pictures")
    parser.add_argument("--timeout", type=float, default=2.0, help="grader grade --timeout (s per function)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the classes and outputs here")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    counts = [int(n) for n in args.workers.split(",")] if args.workers else worker_counts(cores)
    tmp = Path(tempfile.mkdtemp(prefix="bench-scaling-")) if args.keep is None else args.keep
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"machine: {cores} cores; load average before: {load()}; {args.students} students per class; "
          f"worker counts {counts}")
    rows = []
    try:
        for assignment_id in args.assignments:
            plan = getattr(args, f"plan_{assignment_id[:2]}", None)
            if plan is None:  # needs TensorFlow, once
                plan = tmp / f"{assignment_id}.plan"
                subprocess.run([*GRADER, "plan", assignment_id, "--seed", "0", "--out", str(plan)], check=True,
                               capture_output=True)
            class_dir = tmp / f"class-{assignment_id}"
            expected = samples.synthetic_class(assignment_id, class_dir, args.students)
            modes = [] if args.no_local else [("local", lambda n: (["--workers", str(n)], None))]
            if not args.no_dask:
                modes.append(("Dask", dask_cluster))
            baseline_csv = None
            for mode, setup in modes:
                first = None
                for n in counts:
                    how, cluster = setup(n)
                    try:
                        out = tmp / f"out-{assignment_id}-{mode}-{n}"
                        got = grade(assignment_id, class_dir, out, plan, args, how)
                    finally:
                        if cluster is not None:
                            cluster.close()
                    first = first or got["rate"]
                    csv_bytes = (out / "grades.csv").read_bytes()
                    baseline_csv = baseline_csv or csv_bytes
                    rows.append([assignment_id, mode, str(n), f"{got['rate']:.0f}", f"{got['rate'] / first:.2f}x",
                                 f"{1000 * got['cpu'] / args.students:.1f}", got["parts"],
                                 str(wrong_scores(out, expected)), "yes" if csv_bytes == baseline_csv else "NO"])
                    print("  " + " | ".join(rows[-1]), flush=True)
                    shutil.rmtree(out, ignore_errors=True)
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(report.table(["class", "where", "workers", "subs/s", "speed-up", "CPU ms/sub (all)",
                        "CPU ms/sub by process kind (grader grade's figures)", "wrong scores",
                        "grades.csv = 1 local worker's"], rows))
    print()
    print("subs/s: the grading phase (plan loaded, fork servers up, to the last file written), as grader grade "
          "prints it;\nCPU ms/sub (all): every process of the run (grader grade and its tree; for Dask also the "
          "cluster's processes), from the kernel's accounting;\nspeed-up: over 1 worker of the same kind.")
    print(f"load average after: {load()}")


def dask_cluster(n: int):
    """A local Dask cluster of ``n`` single-threaded worker processes, and the flags to grade on it."""
    from dask.distributed import LocalCluster

    # its workers' logs stay quiet: a worker's heartbeat to the scheduler closing first printed a
    # traceback at every cluster's end (a failure to grade shows in the scores, or stops the run)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.CRITICAL)
    return ["--scheduler", cluster.scheduler_address, "--workers", str(n)], cluster


if __name__ == "__main__":
    main()
