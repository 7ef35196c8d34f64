"""How fast ``grader grade`` grades a class, against ``nbgrader autograde`` on the same notebooks.

    .venv/bin/python benchmarks/grading.py [--students 1000] [--notebooks 1000] [--nbgrader 12]

One run: builds synthetic A1, A2 and A3 classes with ``grader.samples`` (half correct, four in ten
with one typical mistake, one in ten stubs; a second A1 class with a few infinite loops), grades
the ``.py`` classes, an A4 class (its saved models timed on their own), and a class
of full notebooks (the solution notebook executed, plots included) with the real ``grader grade``
command, grades the first notebooks again with the real ``nbgrader autograde`` in a course made
from our solutions, and prints submissions/s for each, the ratio, the peak memory of the
grader's process tree, and whether nbgrader and we agree on which exercises each student passed.

Timings are wall-clock on whatever else the machine is doing: the load average is printed
before and after, and CPU seconds per submission are printed too (less sensitive to load).
"""
from __future__ import annotations

import argparse
import csv
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from course import exercises  # noqa: E402
from grader import notebooks, report, samples, solutions  # noqa: E402

A1 = "a1_neuron"
PAGE = os.sysconf("SC_PAGE_SIZE")


class TreeMemory:
    """Peak memory of a process and all its descendants, sampled every ``interval`` seconds.

    RSS counts a page shared by several processes (forked children) once per process; PSS
    shares it out, so its sum is what the tree really holds.
    """

    def __init__(self, pid: int, interval: float = 0.02):
        self.pid, self.interval = pid, interval
        self.peak_rss = self.peak_pss = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _tree(self) -> list[int]:
        pids, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/children") as f:
                        todo += [int(p) for p in f.read().split()]
            except OSError:
                continue
        return pids

    def _run(self) -> None:
        while not self.done.is_set():
            rss = pss = 0
            for pid in self._tree():
                try:
                    with open(f"/proc/{pid}/statm") as f:
                        rss += int(f.read().split()[1]) * PAGE
                    with open(f"/proc/{pid}/smaps_rollup") as f:
                        pss += next(int(line.split()[1]) * 1024 for line in f if line.startswith("Pss:"))
                except (OSError, StopIteration, ValueError):
                    continue
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self.done.wait(self.interval)

    def stop(self) -> None:
        self.done.set()
        self.thread.join()


@dataclass
class Run:
    wall: float
    cpu: float
    """user + system seconds of the command and every process it waited for"""
    peak_rss: int
    peak_pss: int
    stdout: str


def run(cmd: list[str], **kwargs) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
    memory = TreeMemory(proc.pid)
    out, err = (s.decode("utf-8", "replace") for s in proc.communicate())
    wall = time.perf_counter() - start
    memory.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{out}\n{err}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(wall, cpu, memory.peak_rss, memory.peak_pss, out)


def load() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


@dataclass
class Graded:
    run: Run
    n: int
    rate: float
    """submissions/s once the Keras references were ready, as ``grader grade`` printed it"""
    cpu_ms: float
    """grading CPU per submission on this machine (Keras aside), as ``grader grade`` printed it"""
    cpu_parts: str
    """the same, by who spent it (ms per submission)"""


def grade(class_dir: Path, out: Path, args, n: int, assignment_id: str = A1) -> Graded:
    """Run the real ``grader grade`` command on ``class_dir``."""
    cmd = [str(Path(sys.executable).with_name("grader")), "grade", assignment_id, str(class_dir), "--out", str(out),
           "--timeout", str(args.timeout)]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    result = run(cmd)
    rate = re.search(r"\(([\d.]+) submissions/s once", result.stdout)
    cpu = re.search(r"\(([\d.]+) ms per submission(.*)\)", result.stdout)
    return Graded(result, n, float(rate.group(1)) if rate else float("nan"), float(cpu.group(1)) if cpu else float("nan"),
                  cpu.group(2).lstrip(", ") if cpu else "")


def passed(out: Path) -> dict[str, set[str]]:
    """Which exercises each student passed, from ``grades.csv``."""
    assignment = exercises.assignment(A1)
    with open(out / "grades.csv") as f:
        return {r["student"]: {ex.name for ex in assignment.exercises if float(r[ex.name]) == ex.points}
                for r in csv.DictReader(f)}


def check_expected(out: Path, expected: dict[str, dict[str, float]]) -> int:
    """How many students' per-exercise scores differ from what their submission deserves."""
    with open(out / "grades.csv") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    wrong = [s for s, scores in expected.items() if s not in rows
             or any(float(rows[s][name]) != points for name, points in scores.items())]
    for s in wrong[:5]:
        print(f"   ! {s}: expected {expected[s]}, got {rows.get(s)}")
    return len(wrong) + len(set(rows) - set(expected))


def nbgrader_course(tmp: Path, class_dir: Path, students: list[str]) -> tuple[Path, list[str]]:
    """A real nbgrader course: source = our solution notebook, submitted = these students'."""
    course = tmp / "nbgrader-course"
    shutil.copytree(solutions.SOLUTIONS / A1, course / "source" / A1)
    for student in students:
        dest = course / "submitted" / student / A1
        dest.mkdir(parents=True)
        shutil.copy(class_dir / student / f"{A1}.ipynb", dest / f"{A1}.ipynb")
    flags = [f"--CourseDirectory.root={course}", f"--CourseDirectory.db_url=sqlite:///{course}/gradebook.db"]
    return course, flags


def nbgrader(command: list[str], course: Path, flags: list[str]) -> Run:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONWARNINGS": "ignore"}
    return run([str(Path(sys.executable).with_name("nbgrader")), *command, *flags], cwd=course, env=env)


def nbgrader_passed(course: Path, students: list[str]) -> dict[str, set[str]]:
    from nbgrader.api import Gradebook

    names = exercises.assignment(A1).names
    result = {}
    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        for student in students:
            ok = set()
            for name in names:
                grade = gb.find_grade(f"check_{name}", A1, A1, student)
                if grade.score is not None and grade.score == grade.max_score:
                    ok.add(name)
            result[student] = ok
    return result


def compare(ours: dict[str, set[str]], theirs: dict[str, set[str]]) -> tuple[int, list[str]]:
    """(students on whose passed exercises both agree, explanations of the rest)."""
    calls = {ex.name: set(ex.calls) for ex in exercises.assignment(A1).exercises}
    agree, notes = 0, []
    for student, mine in ours.items():
        other = theirs[student]
        if mine == other:
            agree += 1
            continue
        for name in sorted(mine ^ other):
            wrong_callees = sorted(calls[name] - mine)  # callees the student really got wrong
            if name in mine and wrong_callees:
                why = (f"nbgrader fails {name}, which calls the student's wrong {', '.join(wrong_callees)}; "
                       "we grade it with correct callees (no double penalty)")
            else:
                why = f"{'we' if name in mine else 'nbgrader'} pass {name}, the other fails it"
            notes.append(f"{student}: {why}")
    return agree, notes


def a4_time(tmp: Path, args) -> str:
    if "a4_digits" not in exercises.IDS:
        return "skipped: a4_digits is not registered in this checkout"
    class_dir = tmp / "a4-class"
    from grader import sample_models

    samples.sample_class("a4_digits", class_dir, with_loop=False, artifacts=sample_models.artifacts("a4_digits"))
    result = run([str(Path(sys.executable).with_name("grader")), "grade", "a4_digits", str(class_dir),
                  "--out", str(tmp / "a4-out")])
    import json

    results = [json.loads(p.read_text()) for p in (tmp / "a4-out" / "results").glob("*.json")]
    model = sorted(t["extra_data"]["seconds"] for r in results for t in r["tests"]
                   if t["name"] == "digits.keras" and "seconds" in (t.get("extra_data") or {}))
    whole = sorted(r["execution_time"] for r in results)
    if not model:
        return "no digits.keras was evaluated"
    return (f"digits.keras evaluated for {len(model)} submissions: median {model[len(model) // 2]:.2f} s, "
            f"max {model[-1]:.2f} s each (load in a fresh sandboxed child + 10,000 test digits); whole A4 "
            f"submission median {whole[len(whole) // 2]:.2f} s; {len(results)} students in {result.wall:.1f} s")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=1000, help=".py submissions to grade, per assignment")
    parser.add_argument("--assignments", nargs="*", default=["a1_neuron", "a2_layer", "a3_network"],
                        help="assignments whose .py classes are graded")
    parser.add_argument("--notebooks", type=int, default=1000, help=".ipynb submissions to grade")
    parser.add_argument("--nbgrader", type=int, default=12, help="of those, how many nbgrader grades too")
    parser.add_argument("--loops", type=int, default=5,
                        help="infinite loops in a second .py class of the same size (0: skip that run)")
    parser.add_argument("--timeout", type=float, default=1.0, help="grader grade --timeout (s per function)")
    parser.add_argument("--workers", type=int, default=None, help="grader grade --workers (default: cores)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the classes and outputs here")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-grading-")) if args.keep is None else args.keep
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores; load average before: {load()}")
    try:
        graded, wrong = {}, {}
        classes = [(f"{a}.py", a, 0) for a in args.assignments] + [(f"{A1}.py with infinite loops", A1, args.loops)]
        for label, assignment_id, loops in classes:
            if "loops" in label and not loops:
                continue
            folder = tmp / f"class-{assignment_id}-{loops}"
            expected = samples.synthetic_class(assignment_id, folder, args.students, loops=loops)
            graded[label] = grade(folder, tmp / f"out-{assignment_id}-{loops}", args, args.students, assignment_id)
            wrong[label] = check_expected(tmp / f"out-{assignment_id}-{loops}", expected)

        import nbformat

        executed = tmp / "executed.ipynb"
        nbformat.write(notebooks.execute(solutions.notebook_path(A1)), executed)
        nb_dir = tmp / "class-ipynb"
        expected_nb = samples.synthetic_class(A1, nb_dir, args.notebooks, notebooks=True, executed=executed)
        graded[f"{A1}.ipynb"] = grade(nb_dir, tmp / "out-ipynb", args, args.notebooks)
        wrong[f"{A1}.ipynb"] = check_expected(tmp / "out-ipynb", expected_nb)

        chosen = sorted(expected_nb)[: args.nbgrader]
        course, flags = nbgrader_course(tmp, nb_dir, chosen)
        nbgrader(["generate_assignment", A1, "--force"], course, flags)
        auto = nbgrader(["autograde", A1], course, flags)
        theirs = nbgrader_passed(course, chosen)
        grade(course / "submitted", tmp / "out-nbgrader-layout", args, len(chosen))
        agree, notes = compare(passed(tmp / "out-nbgrader-layout"), theirs)
        a4 = a4_time(tmp, args)
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)

    nbgrader_rate = len(chosen) / auto.wall
    mib = lambda r: f"{r.peak_rss / 2**20:.0f} / {r.peak_pss / 2**20:.0f}"  # noqa: E731
    rows = [[f"grader grade, {label}", str(g.n), f"{g.run.wall:.1f}", f"{g.n / g.run.wall:.1f}", f"{g.rate:.0f}",
             f"{g.cpu_ms:.1f}", mib(g.run), str(wrong[label])] for label, g in graded.items()]
    rows.append(["nbgrader autograde, .ipynb", str(len(chosen)), f"{auto.wall:.1f}", f"{nbgrader_rate:.2f}", "",
                 f"{1000 * auto.cpu / len(chosen):.0f}", mib(auto), ""])
    print()
    print(report.table(["command", "submissions", "wall s", "subs/s whole command", "subs/s grading",
                        "CPU ms/sub", "peak MiB RSS / PSS", "wrong scores"], rows))
    print()
    print("subs/s grading: from the Keras references being ready to the last result (printed by grader grade);")
    print("CPU ms/sub: grading CPU per submission on this machine, Keras aside (printed by grader grade);")
    print("nbgrader's CPU counts its whole command; peak memory: the command's whole process tree, sampled.")
    for label, g in graded.items():
        print(f"   CPU ms/sub, {label}: {g.cpu_parts}")
    if args.loops:
        print(f"the second .py class has {args.loops} infinite loops; each holds a worker for --timeout "
              f"{args.timeout:g} s. The nbgrader subset has none.")
    nb = graded[f"{A1}.ipynb"]
    print(f"notebooks vs nbgrader autograde: {args.notebooks / nb.run.wall / nbgrader_rate:.0f}x (whole commands), "
          f"{nb.rate / nbgrader_rate:.0f}x (grading phase)")
    cores = os.cpu_count()
    print(f"if {cores} cores were ours alone (cores / CPU per submission): "
          + ", ".join(f"{label} {1000 * cores / g.cpu_ms:.0f} subs/s" for label, g in graded.items()))
    print(f"agreement with nbgrader on which exercises each student passed: {agree} of {len(chosen)} students")
    for note in notes:
        print(f"   - {note}")
    print(f"A4 model evaluation: {a4}")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
