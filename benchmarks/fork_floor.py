"""What one process per submission costs: the same grading work warm in one process, in a
forked child per submission, and through the real fork server.

    .venv/bin/python benchmarks/fork_floor.py [--students 300] [--plan a1.plan]

The design gives each submission an OS process of its own. Each row below does, for every
submission of the same synthetic A1 class (``grader.authoring.samples.synthetic_class``), what
a sandboxed child does: read and parse the file, run its definitions, call every graded function
on its cases (correct callees in place) and encode the replies (``grader.sandbox.runner``):

1. **warm, one process**: all of it in this process, one submission after another. The work
   itself, with every page and cache already warm: the baseline.
2. **a fork per submission**: this process forks a child for each submission, which does the
   same work and exits; no jail, no pipes. What the fork alone adds: the parent's page tables
   copied, every page the child writes copied (CPython writes reference counts into every
   object it touches), the child's address space torn down at exit.
3. **the fork server**: ``grader.sandbox.client.Sandbox``, as a grading worker drives it, one
   submission after another: the jail, the pipes, a go-ahead and a check for leftover processes
   after each function.

Each row prints CPU ms per submission in the parent (or fork server) and in the children,
their sum, and the ratio to row 1. What a grading worker adds on top (judging, the three files
per student) is measured by ``benchmarks/grading.py``. Given ``--plan`` (``grader plan a1_neuron
--seed 0``) nothing here imports TensorFlow; without it the plan is made first.
"""
from __future__ import annotations

import argparse
import gc
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.authoring import samples  # noqa: E402
from grader.grading.plan_file import read_plan  # noqa: E402
from grader.reports import report  # noqa: E402
from grader.sandbox import runner, server  # noqa: E402
from grader.sandbox.client import Sandbox, decode_reply  # noqa: E402
from grader.sandbox.processes import cpu_seconds, read_small  # noqa: E402

A1 = "a1_neuron"


def child_work(path: str, functions: list[dict]) -> list[bytes]:
    """What ``runner.child_main`` does for one submission, without the jail and the pipes."""
    frames: list[bytes] = []
    runner.grade_here(path, functions, frames.append)
    return frames


def _cpu() -> tuple[float, float]:
    """(this process's, its waited-for children's) CPU seconds so far."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def warm(paths: list[str], functions: list[dict]) -> tuple[float, float]:
    for path in paths[:20]:  # warm-up: bytecode specialised, caches filled
        child_work(path, functions)
    start, _ = _cpu()
    for path in paths:
        child_work(path, functions)
    return _cpu()[0] - start, 0.0


def forked(paths: list[str], functions: list[dict]) -> tuple[float, float]:
    gc.freeze()  # as the fork server does: children's collections never walk the parent's objects
    me, kids = _cpu()
    for path in paths:
        pid = os.fork()
        if pid == 0:
            status = 0
            try:
                child_work(path, functions)
            except BaseException:
                status = 70
            os._exit(status)
        os.waitpid(pid, 0)
    me2, kids2 = _cpu()
    gc.unfreeze()
    return me2 - me, kids2 - kids


def fork_server(paths: list[str], plan) -> tuple[float, float]:
    [group] = plan.groups
    box = Sandbox(preload=group.needs)
    try:
        box.configure(group.functions, limits=group.limits, load_timeout=plan.load_timeout, group=group.name)
        for path in paths[:20]:  # as the worker's first submissions: its rehearsal is done by now
            decode_reply(box.grade(path, group=group.name))
        stat = f"/proc/{box.process.pid}/stat"
        server_start, children = cpu_seconds(read_small(stat)), 0.0
        for path in paths:
            reply = decode_reply(box.grade(path, group=group.name))
            assert reply["status"] == "ok", reply.get("detail")
            children += reply["cpu"]
        return cpu_seconds(read_small(stat)) - server_start, children
    finally:
        box.close()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--plan", type=Path, default=None, help="`grader plan a1_neuron --seed 0` file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-fork-floor-") as tmp:
        plan_path = args.plan
        if plan_path is None:  # needs TensorFlow, once
            plan_path = Path(tmp, "a1.plan")
            subprocess.run([sys.executable, "-m", "grader.cli", "plan", A1, "--seed", "0", "--out", str(plan_path)],
                           check=True, capture_output=True)
        plan = read_plan(plan_path, assignment_id=A1, seed=0)
        samples.synthetic_class(A1, Path(tmp, "class"), args.students)
        paths = sorted(str(p) for p in Path(tmp, "class").glob(f"*/{A1}.py"))
        server.preload()  # what the fork server imports before forking
        functions = plan.groups[0].functions
        rows, base = [], None
        for name, run in [("warm, one process", lambda: warm(paths, functions)),
                          ("a fork per submission", lambda: forked(paths, functions)),
                          ("the fork server (sandbox)", lambda: fork_server(paths, plan))]:
            parent, children = (1000 * s / len(paths) for s in run())
            base = base or parent + children
            rows.append([name, f"{parent:.2f}", f"{children:.2f}", f"{parent + children:.2f}",
                         f"{(parent + children) / base:.1f}x"])
            print("  " + " | ".join(rows[-1]), flush=True)
    print()
    print(report.table(["how", "CPU ms/sub: this process or the fork server", "children", "sum", "vs warm"], rows))
    print(f"\n{len(paths)} A1 submissions; load average {os.getloadavg()[0]:.2f}. A grading worker's judging "
          "and files come on top (benchmarks/grading.py).")


if __name__ == "__main__":
    main()
