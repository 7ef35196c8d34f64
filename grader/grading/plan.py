"""A grading run's plan: every case with its Keras answer, and what the fork servers are sent.

Keras is needed only to compute the answers, once per run; ``PlanProcess`` does it in a
short-lived subprocess (``python -m grader.grading.plan``) so that TensorFlow's ~0.5 GB never sits in
the process that then judges the whole class. The plan crosses back as ``course.codec`` data.

The functions fall into *groups*, each graded by its own child: the NumPy-only functions (all
of A1-A3), the functions that need a heavy library (A4's ``build_model``, in a fork server that
preloaded Keras) and the saved files (A4's ``digits.keras``, graded by a child that loads no
submission code at all).
"""
from __future__ import annotations

import argparse
import gc
import os
import resource
import subprocess
import sys
from dataclasses import dataclass, field

from course import codec, exercises
from course.exercises.base import Assignment, Case, Exercise
from course.fixtures import case_from_plain, case_to_plain, public_cases
from grader import references
from grader.authoring import solutions
from grader.quiet import QUIET_ENV
from grader.sandbox.client import limits_for


@dataclass
class Group:
    """Functions one child grades together, in one kind of fork server."""

    name: str
    needs: tuple[str, ...]
    """heavy libraries the fork server preloads for them (e.g. ``("keras",)``), or none"""
    functions: list[dict] = field(default_factory=list)

    @property
    def limits(self) -> dict:
        return limits_for(self.needs)


def group_name(spec: dict) -> str:
    """``""`` for NumPy-only code, else the libraries it needs, ``:file`` for a saved artifact."""
    return "+".join(spec.get("needs") or ()) + (":file" if spec.get("artifact") else "")


@dataclass
class Plan:
    """Everything needed to grade any submission of one assignment in this run."""

    assignment: Assignment
    cases: dict[str, list[Case]]
    """public + hidden cases, with Keras answers (never sent to a sandbox)"""
    functions: list[dict]
    """what the fork servers get once: ``{name, cases (inputs only), inject, timeout}`` per
    function, in grading order (callees before callers)"""
    seed: int
    load_timeout: float = 10.0
    """seconds to load a submission's definitions"""

    @property
    def requests(self) -> dict[str, dict]:
        return {f["name"]: f for f in self.functions}

    @property
    def groups(self) -> list[Group]:
        """The functions by group (``group_name``), each in grading order; NumPy code first."""
        groups: dict[str, Group] = {}
        for spec in self.functions:
            name = group_name(spec)
            groups.setdefault(name, Group(name, tuple(spec.get("needs") or ()))).functions.append(spec)
        return sorted(groups.values(), key=lambda g: (bool(g.needs), g.name))

    def to_plain(self) -> dict:
        return {"assignment": self.assignment.id, "seed": self.seed, "load_timeout": self.load_timeout,
                "functions": self.functions,
                "cases": {name: [case_to_plain(c) for c in cs] for name, cs in self.cases.items()}}

    @classmethod
    def from_plain(cls, d: dict) -> "Plan":
        return cls(exercises.assignment(d["assignment"]),
                   {name: [case_from_plain(c) for c in cs] for name, cs in d["cases"].items()},
                   d["functions"], int(d["seed"]), float(d["load_timeout"]))


def grading_order(assignment: Assignment) -> list[Exercise]:
    """The exercises with every callee before its callers (otherwise in the assignment's order).

    A correct callee enters a child only to grade its caller; by then the callee's own grade is
    in, so a submission that stashed the correct version gains nothing.

    Raises:
        ValueError: the exercises call each other in a cycle.
    """
    names = set(assignment.names)
    done: list[Exercise] = []
    waiting = list(assignment.exercises)
    while waiting:
        graded = {ex.name for ex in done}
        ready = next((ex for ex in waiting if all(c in graded or c not in names for c in ex.calls)), None)
        if ready is None:
            raise ValueError(f"{assignment.id}: graded functions call each other in a cycle: "
                             f"{', '.join(ex.name for ex in waiting)}")
        done.append(ready)
        waiting.remove(ready)
    return done


def make_plan(assignment_id: str, *, seed: int, timeout: float | None = None) -> Plan:
    """The plan, computed in this process (imports Keras)."""
    assignment = exercises.assignment(assignment_id)
    hidden = references.hidden_cases(assignment_id, seed)
    cases = {name: public_cases(assignment_id)[name] + hidden[name] for name in assignment.names}
    functions = [spec(assignment_id, ex, cases[ex.name], timeout or ex.timeout) for ex in grading_order(assignment)]
    return Plan(assignment, cases, functions, seed, load_timeout=float(timeout or 10.0))


def spec(assignment_id: str, ex: Exercise, cases: list[Case], timeout: float) -> dict:
    """What a fork server is sent for one function: case inputs only, never answers."""
    out = {"name": ex.name, "cases": [case_to_plain(c, with_answer=False) for c in cases],
           "inject": solutions.callee_sources(assignment_id, ex.calls), "timeout": float(timeout)}
    if ex.needs:
        out["needs"] = list(ex.needs)  # graded by a server that preloaded them: its children may import them
    if ex.adapter is not None:  # the function returns an object: the adapter turns it into data
        out["adapter"] = f"{ex.adapter.__module__}:{ex.adapter.__qualname__}"
    if ex.artifact:
        out["artifact"] = ex.artifact
    return out


def public_plan(assignment_id: str, *, timeout: float = 10.0) -> Plan:
    """A plan from the public cases alone (shipped fixtures: no Keras), for tests and quick runs."""
    assignment = exercises.assignment(assignment_id)
    cases = public_cases(assignment_id)
    functions = [spec(assignment_id, ex, cases[ex.name], timeout) for ex in grading_order(assignment)]
    return Plan(assignment, {ex.name: cases[ex.name] for ex in assignment.exercises}, functions, seed=0,
                load_timeout=float(timeout))


class PlanProcess:
    """``make_plan`` running in a subprocess; ``result()`` waits for it.

    Raises (from ``result``):
        KeyError: unknown assignment. RuntimeError: the references failed (message included).
    """

    def __init__(self, assignment_id: str, *, seed: int, timeout: float | None = None):
        exercises.assignment(assignment_id)  # an unknown id fails here, with its clear message
        cmd = [sys.executable, "-m", "grader.grading.plan", assignment_id, "--seed", str(seed)]
        if timeout:
            cmd += ["--timeout", repr(float(timeout))]
        env = {**os.environ, **QUIET_ENV}
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.plan: Plan | None = None
        self.cpu = 0.0
        """CPU seconds the subprocess took (known once ``result`` returns)"""

    def result(self) -> Plan:
        if self.plan is None:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            out, err = self.process.communicate()
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            self.cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            if self.process.returncode != 0:
                tail = err.decode("utf-8", "replace").strip().splitlines()[-5:]
                raise RuntimeError("computing the Keras references failed:\n" + "\n".join(tail))
            self.plan = Plan.from_plain(codec.decode(out))
        return self.plan

    def cancel(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Compute a grading plan; write it as codec bytes on stdout.")
    parser.add_argument("assignment")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=None)
    args = parser.parse_args(argv)
    gc.disable()  # a short-lived process: importing TensorFlow with the collector on costs ~25% more
    plan = make_plan(args.assignment, seed=args.seed, timeout=args.timeout)
    sys.stdout.buffer.write(codec.encode(plan.to_plain()))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
