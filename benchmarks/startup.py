"""What a grading run pays once per worker, against a baseline revision measured in the same run.

    .venv/bin/python benchmarks/startup.py [--students 100] [--workers 1,2,4,8] [--baseline REV]
                                           [--plan a1.plan] [--repeat 2]

Grades one small synthetic A1 class (``grader.authoring.samples.synthetic_class``) with the real ``grader
grade --workers N`` for each N: this checkout and, given ``--baseline``, that revision, one after
the other, ``--repeat`` times. For each it prints the CPU seconds of the whole run (every process
of its tree, from the kernel's accounting) and what each worker beyond the first added:
(CPU at the most workers - CPU at one) / (most - 1). With few students per worker, that is
mostly what a worker process and its fork servers pay to start, which grows with the cores of a
big machine; the zygotes cut it (``grader.grading.pool.worker_zygote``,
``grader.sandbox.client.server_zygote``; root's runs only). Given a plan file (``grader plan
a1_neuron --seed 0 --out FILE``) nothing here imports TensorFlow.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import revisions  # noqa: E402
from grader.authoring import samples  # noqa: E402
from grader.reports import report  # noqa: E402

A1 = "a1_neuron"


def run_cpu(cmd: list[str], **where) -> float:
    """CPU seconds of ``cmd`` and every process it waited for (they wait for theirs)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, capture_output=True, text=True, **where)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--workers", default="1,2,4,8", help="comma-separated worker counts")
    parser.add_argument("--baseline", default=None, help="a git revision to measure against")
    parser.add_argument("--plan", type=Path, default=None, help="`grader plan a1_neuron --seed 0` file")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    try:
        commands = {"this checkout": ([sys.executable, "-m", "grader.cli"], {"cwd": ROOT})}
        if args.baseline:
            commands[args.baseline] = revisions.checkout(args.baseline, tmp / "baseline")
        plan = args.plan
        if plan is None:  # needs TensorFlow, once
            plan = tmp / "a1.plan"
            subprocess.run([*commands["this checkout"][0], "plan", A1, "--seed", "0", "--out", str(plan)],
                           check=True, capture_output=True, cwd=ROOT)
        class_dir = tmp / "class"
        samples.synthetic_class(A1, class_dir, args.students)
        cpu: dict[tuple[str, int], list[float]] = {}
        for _ in range(args.repeat):
            for n in counts:
                for label, (cmd, where) in commands.items():  # alternating: the machine's mood hits both
                    out = tmp / "out"
                    cpu.setdefault((label, n), []).append(run_cpu(
                        [*cmd, "grade", A1, str(class_dir.resolve()), "--out", str(out.resolve()), "--plan",
                         str(plan.resolve()), "--timeout", "2", "--workers", str(n)], **where))
                    shutil.rmtree(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = []
    for n in counts:
        row = [str(n)]
        for label in commands:
            row.append(", ".join(f"{s:.2f}" for s in cpu[label, n]))
        if args.baseline:
            ratio = statistics.median(cpu["this checkout", n]) / statistics.median(cpu[args.baseline, n])
            row.append(f"{ratio:.2f}")
        rows.append(row)
    if len(counts) > 1:
        row = [f"each worker beyond the first, {counts[0]}..{counts[-1]}"]
        for label in commands:
            slope = ((statistics.median(cpu[label, counts[-1]]) - statistics.median(cpu[label, counts[0]]))
                     / (counts[-1] - counts[0]))
            row.append(f"{slope:.3f}")
        if args.baseline:
            row.append("")
        rows.append(row)
    print(f"{args.students} A1 students; CPU seconds of each whole run, {args.repeat} runs each")
    print(report.table(["workers", *commands, *(["this / baseline (medians)"] if args.baseline else [])], rows))


if __name__ == "__main__":
    main()
