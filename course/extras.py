"""The install options (pyproject's extras) and the one line that says which one a command needs.

A student's ``pip install digits-course`` brings only NumPy and matplotlib: enough for A1–A3's
lessons, self-checks and ``course check``. TensorFlow and Keras come with ``[keras]`` (A4), the
instructor's tools with ``[grader]``. Whatever needs a missing extra stops with one line naming it,
found without importing anything (``importlib.util.find_spec``), so asking costs nothing.
"""
from __future__ import annotations

import importlib.util

PACKAGE = "digits-course"

MODULES = {
    "keras": ("tensorflow", "keras"),
    "grader": ("tensorflow", "keras", "nbformat", "nbclient", "ipykernel", "tqdm", "nbgrader", "dask",
               "distributed"),
    "worker": ("tqdm", "dask", "distributed"),
}
"""the modules each extra installs that the code imports (pyproject.toml lists the distributions)"""

PURPOSE = {
    "keras": "TensorFlow and Keras",
    "grader": "the instructor tools",
    "worker": "the grading tools (no TensorFlow)",
}


class MissingExtra(ModuleNotFoundError):
    """Something needs an extra that is not installed; the message is the one line to show."""

    def _render_traceback_(self):  # IPython (a lesson cell) shows this line instead of a traceback
        return [str(self)]


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here (without importing any of them)."""
    return [m for m in MODULES[extra] if importlib.util.find_spec(m) is None]


def advice(what: str, extra: str) -> str:
    """One line, e.g. ``"grader needs the instructor tools: pip install 'digits-course[grader]'"``."""
    return f"{what} needs {PURPOSE[extra]}: pip install '{PACKAGE}[{extra}]'"


def require(extra: str, what: str) -> None:
    """Raise :class:`MissingExtra` with :func:`advice`'s line when ``extra`` is not installed.

    Args:
        extra: ``"keras"`` or ``"grader"``.
        what: who needs it, as the student would say it (``"a4_digits's check"``).
    """
    missing = missing_modules(extra)
    if missing:
        raise MissingExtra(advice(what, extra), name=missing[0])
