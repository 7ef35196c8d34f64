"""The registry of assignments, by id, and a lookup of exercises by function name."""
from __future__ import annotations

import importlib

from course.exercises.base import Assignment, Case, Exercise, Hint, Scale

IDS = ("a1_neuron", "a2_layer", "a3_network", "a4_digits")


def assignment(assignment_id: str) -> Assignment:
    """The assignment with this id, e.g. ``"a1_neuron"``.

    Raises:
        KeyError: no such assignment; the message lists the ones there are.
    """
    if assignment_id not in IDS:
        raise KeyError(f"unknown assignment {assignment_id!r}; expected one of {', '.join(IDS)}")
    return importlib.import_module(f"course.exercises.{assignment_id}").ASSIGNMENT


def find(function_name: str) -> tuple[Assignment, Exercise]:
    """The assignment and exercise that grade the function called ``function_name``."""
    for assignment_id in IDS:
        a = assignment(assignment_id)
        if function_name in a.names:
            return a, a[function_name]
    known = ", ".join(n for i in IDS for n in assignment(i).names)
    raise KeyError(f"no exercise is called {function_name!r}; the exercises are: {known}")


__all__ = ["Assignment", "Case", "Exercise", "Hint", "IDS", "Scale", "assignment", "find"]
