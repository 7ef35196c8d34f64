"""``course check <assignment> <file>``: the self-check, for a whole notebook or ``.py`` file.

(``course explore`` is :mod:`course.explore.cli`.)

Runs the file's definitions (as the grader does) and checks every exercise of the assignment on
its public cases. Exits 0 only when every exercise passes. Artifacts (A4's ``digits.keras``) are
listed but not checked: only the grader's sandbox loads a model file.

An assignment with Keras exercises (A4) says so first, then starts TensorFlow with its C++ log
silenced (``course.quiet``), so what follows is only the results; without the ``[keras]`` extra it
says in one line what to install.
"""
from __future__ import annotations

import argparse
import sys

from course import exercises, extras, quiet, source
from course.explore import cli as explore_cli
from course.selfcheck import NOT_CHECKED, line, run_check
from course.judge import ExerciseResult


def check_file(assignment_id: str, path: str) -> tuple[list[ExerciseResult], list[str]]:
    """Check every exercise of ``assignment_id`` defined in ``path``; returns (results, notes)."""
    assignment = exercises.assignment(assignment_id)
    namespace, notes = source.execute(source.load_definitions(path))
    results = []
    for ex in assignment.exercises:
        if ex.artifact:  # a file such as digits.keras: only the grader's sandbox loads it
            continue
        fn = namespace.get(ex.name)
        if fn is None:
            results.append(ExerciseResult(ex, problem=f"{ex.name} is not defined in {path}"))
        else:
            results.append(run_check(ex.name, fn))
    return results, notes


def start_keras(assignment_id: str) -> None:
    """Start TensorFlow quietly if the assignment's exercises need Keras; say so first.

    Raises:
        extras.MissingExtra: TensorFlow or Keras is not installed.
    """
    if not any("keras" in ex.needs for ex in exercises.assignment(assignment_id).exercises):
        return
    extras.require("keras", f"{assignment_id}'s check")
    print(f"{assignment_id}'s check starts TensorFlow first (a few seconds)…", flush=True)
    quiet.keras()  # before the submission's `import keras`, which would log to stderr otherwise


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="course", description="Student tools for the digit-recognizer course.")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="check a notebook or .py file against the public cases")
    c.add_argument("assignment", help=f"one of: {', '.join(exercises.IDS)}")
    c.add_argument("file", help="your .ipynb or .py file")
    explore_cli.add_parser(sub)
    args = p.parse_args(argv)
    if args.command == "explore":
        return explore_cli.main(args)
    try:
        start_keras(args.assignment)
        results, notes = check_file(args.assignment, args.file)
    except extras.MissingExtra as e:
        print(f"course: {e}", file=sys.stderr)
        return 2
    except (KeyError, OSError, source.SubmissionError) as e:
        print(f"course: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
        return 2
    for r in results:
        print(line(r))
    for ex in exercises.assignment(args.assignment).exercises:
        if ex.artifact:
            print(f"– {ex.name}: not checked here; {NOT_CHECKED}")
    for n in notes:
        print(f"note: {n}")
    passed = sum(r.passed for r in results)
    print(f"{passed}/{len(results)} exercises pass")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
