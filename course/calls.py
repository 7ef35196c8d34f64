"""Call a student's function on one case and capture what happened, as plain data.

Shared by the self-check (in the student's own process) and the grader's sandboxed runner, so
both see the same outcome: the returned value (passed through ``course.codec``, so an object
can't vouch for itself), the exception, and any RuntimeWarning (e.g. overflow in ``np.exp``).
"""
from __future__ import annotations

import copy
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from course import codec


@dataclass
class Outcome:
    """What one call produced."""

    value: object = None
    """the returned value, as decoded plain data"""
    error: str | None = None
    """``"TypeError: ..."`` if the call raised, else None"""
    warnings: list[str] = field(default_factory=list)
    """RuntimeWarnings raised during the call, e.g. ``"overflow encountered in exp"``"""
    seconds: float = 0.0

    def to_plain(self) -> dict:
        return {"value": self.value, "error": self.error, "warnings": self.warnings, "seconds": self.seconds}

    @classmethod
    def from_plain(cls, d) -> "Outcome":
        if not isinstance(d, dict):
            return cls(error="GraderError: malformed outcome from the sandbox")
        error = d.get("error")
        notes = d.get("warnings")
        seconds = d.get("seconds")
        return cls(
            value=d.get("value"),
            error=error if isinstance(error, str) or error is None else "unreadable error",
            warnings=[w for w in notes if isinstance(w, str)] if isinstance(notes, list) else [],
            seconds=float(seconds) if isinstance(seconds, (int, float)) else 0.0,
        )


def safe_str(e: BaseException, limit: int = 500) -> str:
    """``"Type: message"``, even if the exception's ``__str__`` raises."""
    try:
        name = type(e).__name__
    except BaseException:
        name = "Exception"
    try:
        text = str(e)
    except BaseException:
        text = "<the exception's message could not be printed>"
    text = text if isinstance(text, str) else "<non-text message>"
    return f"{name}: {text[:limit]}" if text else name


def call(fn, args, kwargs) -> Outcome:
    """Call ``fn`` on deep copies of the arguments; never raises."""
    return call_each(fn, [(args, kwargs)])[0]


def call_each(fn, cases) -> list[Outcome]:
    """``fn`` called on deep copies of each case's ``(args, kwargs)``, in order; never raises.

    One warnings catcher and one ``np.errstate`` serve every case (each case gets the
    RuntimeWarnings raised during its own call): entering them per case cost more than most
    students' functions. A function can change the warnings filters or NumPy's error state for
    its later cases, as it always could for the rest of its own call.
    """
    outcomes = []
    with warnings.catch_warnings(record=True) as caught, np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"):
        warnings.simplefilter("always")
        for args, kwargs in cases:
            args, kwargs = _copy(args), _copy(kwargs)
            seen = len(caught)
            start = time.perf_counter()
            try:
                value = fn(*args, **kwargs)
                error = None
            except BaseException as e:  # SystemExit and KeyboardInterrupt too: they cost this case only
                value, error = None, safe_str(e)
            seconds = time.perf_counter() - start
            notes = []
            for w in caught[seen:]:
                try:
                    if issubclass(w.category, RuntimeWarning):
                        notes.append(str(w.message)[:200])
                except BaseException:
                    pass
            if error is None:
                try:
                    value = codec.plain(value)  # what the sandbox would send back, as a snapshot
                except BaseException as e:
                    value, error = None, f"the returned value could not be read ({safe_str(e)})"
            outcomes.append(Outcome(value=value, error=error, warnings=notes[:5], seconds=seconds))
    return outcomes


_ATOMS = (int, float, complex, bool, str, bytes, type(None))


def _copy(value, memo: dict | None = None):
    """``copy.deepcopy`` of case data, quicker for what cases hold (NumPy arrays of numbers,
    numbers, strings, lists, tuples and dicts of them); anything else goes to ``deepcopy``.
    Like ``deepcopy``, a value that appears twice is copied once (``memo``)."""
    t = type(value)
    if t in _ATOMS or isinstance(value, np.generic):
        return value
    memo = {} if memo is None else memo
    if id(value) in memo:
        return memo[id(value)]
    if t is np.ndarray and not value.dtype.hasobject:
        out = value.copy(order="K")
    elif t is list:
        out = memo[id(value)] = []
        out += [_copy(v, memo) for v in value]
        return out
    elif t is tuple:
        out = tuple(_copy(v, memo) for v in value)
    elif t is dict:
        out = memo[id(value)] = {}
        out.update((k, _copy(v, memo)) for k, v in value.items())
        return out
    else:
        out = copy.deepcopy(value, memo)
    memo[id(value)] = out
    return out
