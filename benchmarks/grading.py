"""How fast ``grader grade`` grades a class, against ``nbgrader autograde`` on the same notebooks.

    .venv/bin/python benchmarks/grading.py [--students 1000] [--notebooks 1000] [--nbgrader 12]
    .venv/bin/python benchmarks/grading.py --only-a4 [--a4 200] [--a4-baseline REV]

One run: builds synthetic A1, A2 and A3 classes with ``grader.authoring.samples`` (half correct, four in ten
with one typical mistake, one in ten stubs; a second A1 class with a few infinite loops), grades
the ``.py`` classes, an A4 class (below), and a class
of full notebooks (the solution notebook executed, plots included) with the real ``grader grade``
command, grades the first notebooks again with the real ``nbgrader autograde`` in a course made
from our solutions, and prints submissions/s for each, the ratio, the peak memory of the
grader's process tree, and whether nbgrader and we agree on which exercises each student passed.

The A4 class (``--a4`` submissions, every other one correct, the rest each named mistake, a stub,
untrained, wrong and hostile ``digits.keras`` files) is graded by ``grader grade`` (and by an
older revision's with ``--a4-baseline``, for the ratio), then once more submission by submission
to print its CPU per submission by function and by process kind.

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

from benchmarks import revisions  # noqa: E402
from course import exercises  # noqa: E402
from grader.authoring import samples, solutions  # noqa: E402
from grader.integrations import notebooks  # noqa: E402
from grader.reports import report  # noqa: E402

A1 = "a1_neuron"
PAGE = os.sysconf("SC_PAGE_SIZE")


class TreeMemory:
    """Peak memory of a process and all its descendants, sampled every ``interval`` seconds.

    RSS counts a page shared by several processes (forked children) once per process; PSS
    shares it out, so its sum is what the tree really holds. Reading PSS walks every page table
    of the tree: sampled every 20 ms it took 2.2 s of CPU in a 12 s run, a tenth of a 2-core
    machine taken from the grading it measures; every 0.25 s it takes a tenth of that.
    """

    def __init__(self, pid: int, interval: float = 0.25):
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


A4 = "a4_digits"
MODEL = "digits.keras"


def a4_templates(scratch: Path) -> dict[str, tuple[Path, tuple[str, ...] | None]]:
    """One folder per kind of A4 submission: correct, each named mistake, a stub, untrained,
    wrong and hostile model files. Returns ``{kind: (folder, functions that lose their points)}``
    (``None`` for the model file's partial credit, measured here)."""
    from grader.authoring import sample_models

    assignment = exercises.assignment(A4)
    reference = sample_models.reference_file()
    kinds: dict[str, tuple[Path, tuple[str, ...] | None]] = {}

    def make(kind: str, write_code, model, lost) -> None:
        folder = scratch / kind
        write_code(folder)
        if model is not None:
            model(folder)
        kinds[kind] = (folder, lost)

    py = lambda overrides=None: lambda f: samples.write_py(f, A4, overrides)  # noqa: E731
    ref = lambda f: sample_models.copy_reference(f)  # noqa: E731
    make("correct_py", py(), ref, ())
    make("correct_notebook", lambda f: samples.write_notebook(f, A4), ref, ())
    for name, mistake in samples.MISTAKES[A4].items():
        make(f"mistake_{name}", py({mistake.function: mistake.source}), ref, (mistake.function,))
    make("stub_notebook", lambda f: samples.write_notebook(f, A4, released=True), ref,
         tuple(n for n in assignment.names if n != MODEL))
    make("model_undertrained", py(), lambda f: sample_models.undertrained(f, epochs=1), None)
    make("model_relu_hidden", py(), lambda f: sample_models.wrong_architecture(f, hidden="relu"), (MODEL,))
    make("model_784_32_10", py(), lambda f: sample_models.wrong_architecture(f, sizes=(32,)), (MODEL,))
    make("model_lambda", py(), lambda f: sample_models.with_lambda(f, scratch / "lambda-ran"), (MODEL,))
    make("model_flatten", py(), lambda f: sample_models.with_layer(f, "Flatten"), (MODEL,))
    make("model_missing", py(), None, (MODEL,))
    for kind in sample_models.HOSTILE_FILES:
        make(f"model_{kind}", py(), lambda f, kind=kind: sample_models.hostile_file(kind, reference, f), (MODEL,))
    return kinds


def a4_class(root: Path, n: int) -> dict[str, dict[str, float]]:
    """``n`` A4 submissions: every other one correct, the rest cycling through the other kinds of
    ``a4_templates``. Returns the scores each student should get."""
    from grader.authoring import sample_models

    assignment = exercises.assignment(A4)
    kinds = a4_templates(root.with_name(root.name + "-templates"))
    others = [k for k in kinds if not k.startswith("correct")]
    folder, _ = kinds["model_undertrained"]
    partial = round(assignment[MODEL].points * assignment[MODEL].scale.fraction(
        sample_models.measured_accuracy(folder / MODEL)), 2)
    expected = {}
    for i in range(n):
        kind = ("correct_py", "correct_notebook")[i // 2 % 2] if i % 2 == 0 else others[i // 2 % len(others)]
        student = f"student_{i:04d}_{kind}"
        src, lost = kinds[kind]
        shutil.copytree(src, root / student)
        expected[student] = samples.expected_scores(assignment, lost or ())
        if lost is None:
            expected[student][MODEL] = partial
    return expected


def a4_by_function(class_dir: Path, expected: dict[str, dict[str, float]]) -> tuple[list[list[str]], int]:
    """Grade the A4 class submission by submission with one fork server per kind (the plan's
    groups, as ``grader grade`` sends them) and account for every CPU second: each stage of each
    child (``cpu`` in the server's envelope), the children's whole lives (forks and exits
    included), the fork servers and the judging here. Returns the table's rows and how many
    students' scores differ from ``expected``."""
    from grader.grading.grade import judge_reply, merge_replies
    from grader.grading.plan import PlanProcess
    from grader.grading.submissions import discover
    from grader.sandbox.client import Sandbox, decode_reply

    plan = PlanProcess(A4, seed=0).result()
    boxes = {needs: Sandbox(worker=i, preload=needs) for i, needs in enumerate(dict.fromkeys(g.needs for g in plan.groups))}
    kind_name = {(): "NumPy", ("keras",): "Keras (NumPy backend)"}
    stage_cpu: dict[str, list[float]] = {}
    child_cpu = {needs: 0.0 for needs in boxes}
    server_cpu = {needs: [] for needs in boxes}
    judging, wrong, n = 0.0, 0, 0
    try:
        for box in boxes.values():
            for g in plan.groups:
                if g.needs == box.preload:
                    box.configure(g.functions, limits=g.limits, load_timeout=plan.load_timeout, group=g.name)
        for sub in discover(class_dir, A4):
            replies = []
            for g in plan.groups:
                reply = decode_reply(boxes[g.needs].grade(str(sub.path.resolve()), group=g.name))
                replies.append(reply)
                child_cpu[g.needs] += float(reply.get("cpu") or 0.0)
                server_cpu[g.needs].append(float(reply.get("server_cpu") or 0.0))
                load = f"load the submission ({kind_name[g.needs]}{', file only' if g.name.endswith(':file') else ''})"
                stage_cpu.setdefault(load, []).append(float(reply["load"].get("cpu") or 0.0))
                for f in reply["functions"]:
                    stage_cpu.setdefault(f["name"], []).append(float(f.get("cpu") or 0.0))
            start = time.process_time()
            result = judge_reply(sub, plan, merge_replies(replies), fingerprint="")
            judging += time.process_time() - start
            n += 1
            got = {e.exercise.name: round(e.score, 2) for e in result.exercises}
            if got != expected.get(sub.student):
                wrong += 1
                if wrong <= 5:
                    print(f"   ! {sub.student}: expected {expected.get(sub.student)}, got {got} {result.problem}")
    finally:
        for box in boxes.values():
            box.close()
    ms = lambda seconds: f"{1000 * seconds / n:.1f}"  # noqa: E731  (per submission)
    rows = [["stage: " + name, ms(sum(v)), f"{1000 * sorted(v)[len(v) // 2]:.1f}"] for name, v in stage_cpu.items()]
    staged = {needs: 0.0 for needs in boxes}
    for g in plan.groups:
        loads = [k for k in stage_cpu if k.startswith("load") and kind_name[g.needs] in k]
        staged[g.needs] = sum(sum(stage_cpu[k]) for k in loads) + sum(sum(stage_cpu[f["name"]]) for f in
                                                                      (f for gg in plan.groups if gg.needs == g.needs
                                                                       for f in gg.functions))
    kinds = []
    for needs in boxes:
        # a server's CPU per submission: from its first reply on (its start-up and imports are not per submission)
        served = server_cpu[needs][-1] - server_cpu[needs][0]
        kinds += [[f"{kind_name[needs]} children: forks, exits, page copies (outside the stages)",
                   ms(child_cpu[needs] - staged[needs]), ""],
                  [f"{kind_name[needs]} children, in all", ms(child_cpu[needs]), ""],
                  [f"{kind_name[needs]} fork server", f"{1000 * served / max(1, n - 1):.1f}", ""]]
    total = sum(child_cpu.values()) + judging + sum((v[-1] - v[0]) * n / max(1, n - 1) for v in server_cpu.values())
    train = sum(stage_cpu.get("train", []))
    rows += kinds + [["judging (the grader's process)", ms(judging), ""], ["total", ms(total), ""],
                     ["total beyond the student's own train", ms(total - train), ""]]
    return rows, wrong


def a4_run(tmp: Path, args) -> str:
    """The A4 class: graded by ``grader grade`` (and by an older revision's, for the ratio), then
    submission by submission for the CPU by function and process kind."""
    if A4 not in exercises.IDS:
        return "skipped: a4_digits is not registered in this checkout"
    class_dir = tmp / "a4-class"
    expected = a4_class(class_dir, args.a4)
    others = {s.split("_", 2)[2] for s in expected if "_correct_" not in s}
    lines = [f"A4: {args.a4} submissions ({args.a4 - sum(1 for s in expected if '_correct_' not in s)} correct, the "
             f"rest {len(others)} kinds: each named mistake, a stub, untrained, wrong and hostile model files)"]
    commands = {"this checkout": ([str(Path(sys.executable).with_name("grader"))], {})}
    if args.a4_baseline:
        commands[f"baseline {args.a4_baseline}"] = revisions.checkout(args.a4_baseline, tmp / "a4-baseline")
    cpu = {}
    for label, (cmd, where) in commands.items():
        out = tmp / f"a4-out-{len(cpu)}"
        result = run([*cmd, "grade", A4, str(class_dir), "--out", str(out)]
                     + (["--workers", str(args.workers)] if args.workers else []), **where)
        found = re.search(r"\(([\d.]+) ms per submission(.*)\)", result.stdout)
        cpu[label] = float(found.group(1)) if found else float("nan")
        lines.append(f"grader grade ({label}): {result.wall:.1f} s wall, {args.a4 / result.wall:.2f} submissions/s, "
                     f"{cpu[label]:.0f} ms CPU per submission ({found.group(2).lstrip(', ') if found else '?'}); "
                     f"wrong scores: {check_expected(out, expected)}")
    if len(cpu) == 2:
        now, before = cpu.values()
        lines.append(f"CPU per submission, this checkout / baseline: {now / before:.2f}")
    rows, wrong = a4_by_function(class_dir, expected)
    lines += ["", "A4 CPU per submission, by function and process kind (one worker, submission by submission; "
              f"wrong scores: {wrong})", report.table(["where", "CPU ms/sub (mean)", "median ms"], rows)]
    return "\n".join(lines)


def mib(run) -> str:
    return f"{run.peak_rss / 2**20:.0f} / {run.peak_pss / 2**20:.0f}"


def print_table(graded: dict, wrong: dict, more: list[list[str]] = ()) -> None:
    """One row per ``grader grade`` run (and the ``more`` rows, e.g. nbgrader's)."""
    rows = [[f"grader grade, {label}", str(g.n), f"{g.run.wall:.1f}", f"{g.n / g.run.wall:.1f}", f"{g.rate:.0f}",
             f"{g.cpu_ms:.1f}", mib(g.run), str(wrong[label])] for label, g in graded.items()]
    print()
    print(report.table(["command", "submissions", "wall s", "subs/s whole command", "subs/s grading",
                        "CPU ms/sub", "peak MiB RSS / PSS", "wrong scores"], rows + list(more)))


def print_py(graded: dict, wrong: dict, a4: str) -> None:
    """The table for a run of the .py classes alone (``--notebooks 0``)."""
    print_table(graded, wrong)
    for label, g in graded.items():
        print(f"   CPU ms/sub, {label}: {g.cpu_parts}")
    print(a4)
    print(f"load average after: {load()}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=1000, help=".py submissions to grade, per assignment")
    parser.add_argument("--assignments", nargs="*", default=["a1_neuron", "a2_layer", "a3_network"],
                        help="assignments whose .py classes are graded")
    parser.add_argument("--notebooks", type=int, default=1000, help=".ipynb submissions to grade (0: .py classes only)")
    parser.add_argument("--nbgrader", type=int, default=12, help="of those, how many nbgrader grades too")
    parser.add_argument("--loops", type=int, default=5,
                        help="infinite loops in a second .py class of the same size (0: skip that run)")
    parser.add_argument("--timeout", type=float, default=1.0, help="grader grade --timeout (s per function)")
    parser.add_argument("--workers", type=int, default=None, help="grader grade --workers (default: cores)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the classes and outputs here")
    parser.add_argument("--a4", type=int, default=200, help="A4 submissions (with model files; 0: skip A4)")
    parser.add_argument("--a4-baseline", default=None, metavar="REV",
                        help="also grade the A4 class with this git revision's grader, for the CPU ratio")
    parser.add_argument("--only-a4", action="store_true", help="grade the A4 class only")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-grading-")) if args.keep is None else args.keep
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores; load average before: {load()}")
    if args.only_a4:
        try:
            print(a4_run(tmp, args))
        finally:
            if args.keep is None:
                shutil.rmtree(tmp, ignore_errors=True)
        print(f"load average after: {load()}")
        return
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

        if not args.notebooks:  # the .py classes only
            a4 = a4_run(tmp, args) if args.a4 else "skipped (--a4 0)"
            return print_py(graded, wrong, a4)
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
        a4 = a4_run(tmp, args) if args.a4 else "skipped (--a4 0)"
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)

    nbgrader_rate = len(chosen) / auto.wall
    print_table(graded, wrong, [["nbgrader autograde, .ipynb", str(len(chosen)), f"{auto.wall:.1f}",
                                 f"{nbgrader_rate:.2f}", "", f"{1000 * auto.cpu / len(chosen):.0f}", mib(auto), ""]])
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
    print(a4)
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
