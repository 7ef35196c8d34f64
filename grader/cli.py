"""The instructor's command line: ``grader grade``, ``plan``, ``solutions``, ``assign``, ``fixtures``, ``export``,
``gradescope``, ``similarity``.

Only argument parsing lives here; each command is a function in its own module.
"""
from __future__ import annotations

import argparse
import signal
import sys

from course import extras


def _grade(args) -> int:
    from grader.grading import grade
    from grader.grading.plan_file import PlanFileError
    from grader.reports import report

    try:
        summary = grade.grade(args.assignment, args.submissions, args.out, workers=args.workers,
                              timeout=args.timeout, seed=args.seed, progress=None, scheduler=args.scheduler,
                              pictures=not args.no_pictures, hidden_feedback=args.hidden_feedback, plan=args.plan)
    except PlanFileError as e:
        print(f"grader: {e}", file=sys.stderr)
        return 2
    print(report.summary_table(summary, args.assignment))
    print()
    print(report.class_summary(summary, args.assignment))
    by = f", {summary.workers} worker{'s' * (summary.workers != 1)}" if summary.workers else ""
    rate = (f" ({summary.rate:.0f} submissions/s once the Keras references were ready{by})"
            if summary.graded and summary.grading_seconds else "")
    print(f"graded {summary.graded}, reused {summary.reused} earlier results, in {summary.seconds:.1f} s{rate}; "
          f"wrote {args.out}/grades.csv, report.html, results/, feedback/"
          + (", instructor/ (hidden cases in full)" if args.hidden_feedback == "summary" else ""))
    if summary.graded:
        where = "on the cluster and here" if args.scheduler else "grading"
        per = lambda s: f"{1000 * s / summary.graded:.1f}"  # noqa: E731  (ms per submission)
        parts = "".join(f", {name} {per(s)}" for name, s in summary.cpu_breakdown.items())
        print(f"CPU time: {summary.cpu_seconds:.1f} s {where} ({per(summary.cpu_seconds)} ms per submission{parts}), "
              f"{summary.keras_cpu_seconds:.1f} s computing the Keras references")
    _report_sandbox()
    if summary.grader_faults:
        names = ", ".join(map(report.printable, summary.grader_faults[:10])) + (
            " ..." if len(summary.grader_faults) > 10 else "")
        print(f"grader: GRADER FAULT: {len(summary.grader_faults)} submission(s) could not be graded because of the "
              f"grader's installation or the class folder's permissions, not the students' work: {names}. They "
              f"have no score in grades.csv; their results/<student>.json say why (grader_fault). Fix it, then run "
              f"the same command again: only they are graded again.", file=sys.stderr)
        return 1
    return 0


def _report_sandbox() -> None:
    """Say once per run which protections the sandbox had here, and which it lacked."""
    from grader.sandbox.client import PROTECTIONS

    if PROTECTIONS.get("active"):
        print(f"sandbox: {', '.join(PROTECTIONS['active'])}")
    for line in PROTECTIONS.get("missing", []):
        print(f"sandbox: not in force here: {line}", file=sys.stderr)


def _plan(args) -> int:
    from grader.grading.plan import PlanProcess
    from grader.grading.plan_file import write_plan

    planner = PlanProcess(args.assignment, seed=args.seed)  # Keras, in its own process
    try:
        path = write_plan(planner.result(), args.out)
    finally:
        planner.cancel()
    print(f"wrote {path}: the {args.assignment} answers for seed {args.seed}; grade with "
          f"`grader grade {args.assignment} <submissions> --out <dir> --plan {path}` (no TensorFlow needed)")
    return 0


def _solutions(args) -> int:
    from grader.authoring import check_solutions

    return 0 if check_solutions.main(args.assignments or None, execute=not args.no_execute) else 1


def _fixtures(args) -> int:
    from grader.authoring import fixtures

    for path in fixtures.write_all():
        print("wrote", path)
    return 0


def _assign(args) -> int:
    from course import exercises
    from grader.authoring import assign

    for path in assign.main(args.assignments or exercises.IDS):
        print("released", path)
    return 0


def _export_nbgrader(args) -> int:
    from grader.integrations import nbgrader_course, nbgrader_export

    db = args.db or nbgrader_course.db_url(args.course)
    try:
        done = nbgrader_export.export(args.assignment, args.graded, db)
    except ValueError as e:
        print(f"grader: {e}", file=sys.stderr)
        return 2
    print(f"wrote {done.grades} grades of {done.students} students ({done.created_submissions} new submissions) "
          f"to {db}; see them with `nbgrader export` or formgrader")
    return 0


def _gradescope(args) -> int:
    from grader.integrations import gradescope

    path = gradescope.build(args.assignment, args.out, seed=args.seed, hidden_feedback=args.hidden_feedback)
    print(f"wrote {path}: upload it as the autograder of a Gradescope programming assignment")
    return 0


def _similarity(args) -> int:
    from grader import similarity
    from grader.reports import report

    done = similarity.run(args.assignment, args.submissions, args.out, pages=args.pages, common=args.common)
    for a, b, score in done.pairs[:10]:
        print(f"{score:6.2f}  {report.printable(a)} — {report.printable(b)}")
    linked = "; the class report links them" if done.linked else ""
    print(f"compared {done.compared} of {done.students} submissions in {done.seconds:.1f} s; wrote "
          f"{args.out}/similarity.csv and {len(done.pairs)} pair pages in {args.out}/similarity/{linked}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="grader", description="Autograde the digit-recognizer course against Keras.")
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade a whole class")
    g.add_argument("assignment", help="assignment id, e.g. a1_neuron")
    g.add_argument("submissions", help="folder with one sub-folder per student (or nbgrader's submitted/)")
    g.add_argument("--out", required=True, help="output folder (re-running with the same folder resumes)")
    g.add_argument("--workers", type=_count, default=None,
                   help="parallel sandboxes (default: the cores this process may use)")
    g.add_argument("--timeout", type=_seconds, default=None, help="seconds per graded function (default: per exercise)")
    g.add_argument("--seed", type=_whole, default=None, help="seed for the hidden cases (default: --plan's, else 0)")
    g.add_argument("--scheduler", default=None, help="Dask scheduler address, to grade on a cluster")
    g.add_argument("--no-pictures", action="store_true", help="leave the pictures out of the feedback (faster)")
    _hidden_feedback_option(g)
    g.add_argument("--plan", default=None, help="answers computed by `grader plan` (no TensorFlow needed)")
    g.set_defaults(run=_grade)
    pl = sub.add_parser("plan", help="compute the Keras answers once, for `grader grade --plan`")
    pl.add_argument("assignment", help="assignment id, e.g. a1_neuron")
    pl.add_argument("--seed", type=_whole, default=0, help="seed for the hidden cases")
    pl.add_argument("--out", required=True, help="the plan file to write")
    pl.set_defaults(run=_plan)
    s = sub.add_parser("solutions", help="run every reference solution and prove it earns full marks")
    s.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    s.add_argument("--no-execute", action="store_true", help="grade only; don't execute the notebooks")
    s.set_defaults(run=_solutions)
    r = sub.add_parser("assign", help="release assignments/ from solutions/ with nbgrader generate_assignment")
    r.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    r.set_defaults(run=_assign)
    f = sub.add_parser("fixtures", help="recompute the public fixtures from the Keras references")
    f.set_defaults(run=_fixtures)
    e = sub.add_parser("export", help="export grades to another tool").add_subparsers(dest="to", required=True)
    n = e.add_parser("nbgrader", help="write `grader grade` scores into nbgrader's gradebook")
    n.add_argument("assignment", help="assignment id, e.g. a1_neuron")
    n.add_argument("graded", help="the --out folder of `grader grade`")
    n.add_argument("--course", default=".", help="the nbgrader course folder (default: here)")
    n.add_argument("--db", default=None, help="gradebook URL (default: sqlite:///<course>/gradebook.db)")
    n.set_defaults(run=_export_nbgrader)
    z = sub.add_parser("gradescope", help="build the Gradescope autograder zip for an assignment")
    z.add_argument("assignment", help="assignment id, e.g. a1_neuron")
    z.add_argument("--out", default=".", help="folder for <assignment>-gradescope.zip (default: here)")
    z.add_argument("--seed", type=_whole, default=0, help="seed for the hidden cases on Gradescope")
    _hidden_feedback_option(z, after="; the details are shown after the due date")
    z.set_defaults(run=_gradescope)
    m = sub.add_parser("similarity", help="rank pairs of submissions by the rare code they share")
    m.add_argument("assignment", help="assignment id, e.g. a1_neuron")
    m.add_argument("submissions", help="folder with one sub-folder per student (or nbgrader's submitted/)")
    m.add_argument("--out", required=True, help="output folder (the `grader grade` one links the results)")
    m.add_argument("--pages", type=_whole, default=50, help="pages for the most similar pairs (default 50)")
    m.add_argument("--common", type=_share, default=0.05,
                   help="share of the class above which shared code counts for nothing (default 0.05)")
    m.set_defaults(run=_similarity)
    return p


def _hidden_feedback_option(p: argparse.ArgumentParser, after: str = " (instructor/ has them in full)") -> None:
    p.add_argument("--hidden-feedback", choices=("summary", "full"), default="summary",
                   help="what students see of the hidden cases: how many passed and the hint (summary, the default"
                   f"{after}), or every input and expected answer (full)")


# Checked here, so a slip of the keyboard stops the run with one line (exit 2) rather than giving
# every student a zero (``--timeout 0``) or a grader fault (``--timeout nan``, ``--seed -1``).
def _number(kind, value: str, ok, expected: str):
    try:
        number = kind(value)
    except ValueError:
        number = None
    if number is None or not ok(number):
        raise argparse.ArgumentTypeError(f"expected {expected}; received {value!r}")
    return number


MAX_TIMEOUT = 24 * 3600
"""the longest ``--timeout``: a day (a longer one overflows the children's deadlines)"""


def _seconds(value: str) -> float:
    return _number(float, value, lambda s: 0 < s <= MAX_TIMEOUT,
                   f"seconds above 0 and at most {MAX_TIMEOUT}, e.g. 2.5")


def _count(value: str) -> int:
    return _number(int, value, lambda n: n >= 1, "a whole number, 1 or more")


def _whole(value: str) -> int:
    return _number(int, value, lambda n: n >= 0, "a whole number, 0 or more")


def _share(value: str) -> float:
    return _number(float, value, lambda share: 0 < share <= 1, "a share of the class between 0 and 1")


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    # grading with a plan file needs no TensorFlow: the `worker` extra is enough
    extra, what = ("worker", "grader grade --plan") if getattr(args, "plan", None) else ("grader", "grader")
    if extras.missing_modules(extra):  # a student install: say what to install, in one line
        print(extras.advice(what, extra), file=sys.stderr)
        return 2
    for signum in (signal.SIGTERM, signal.SIGHUP):  # a batch system's time limit, a closed terminal
        if signal.getsignal(signum) is not signal.SIG_IGN:  # ignored, as `nohup` does: it stays ignored
            signal.signal(signum, _stop)
    try:
        return args.run(args)
    except (KeyError, OSError) as e:
        message = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"grader: {message}", file=sys.stderr)
        return 2
    except RuntimeError as e:  # a grader fault (the sandbox or the Keras references failed): said plainly
        print(f"grader: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        how = f"stopped by {signal.Signals(e.signum).name}" if isinstance(e, Stopped) else "interrupted"
        try:
            print(f"grader: {how}; run the same command again to resume", file=sys.stderr)
        except OSError:  # no terminal any more (SIGHUP)
            pass
        return 128 + (e.signum if isinstance(e, Stopped) else signal.SIGINT)


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the command is, as Ctrl-C is: the run stops the same clean
    way (its processes ended, its temporary folders removed, what is graded kept)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop(signum, frame) -> None:
    raise Stopped(signum)


if __name__ == "__main__":
    sys.exit(main())
