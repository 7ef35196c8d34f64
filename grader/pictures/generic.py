"""The picture for any exercise without its own: your values against Keras's, case by case.

- Digit predictions (integer answers 0..9, ten or more of them): a confusion matrix of your
  digits against Keras's.
- A failing case whose answer is a matrix: Keras's matrix, yours and the difference, side by side.
- Otherwise every number of every public case as a dot at (Keras's value, your value): right
  answers sit on the diagonal, wrong ones (in red) show *how* they are wrong — an offset, a
  flipped sign, a different scale.

Booleans and answers of a different shape get no picture: the text says it better.
"""
from __future__ import annotations

import numpy as np

from course import plots
from course.exercises.base import Exercise
from course.judge import CaseResult

MAX_POINTS = 4000
"""dots drawn at most (evenly subsampled beyond), to keep a picture cheap"""
MAX_MATRIX = 64
MAX_VALUES = 1_000_000
"""a returned value bigger than this is not a picture anyone needs (and would cost memory)"""


def new_figure(width: float, height: float):
    from matplotlib.figure import Figure  # not pyplot: no global state, safe headless

    return Figure(figsize=(width, height))


SUPERSCRIPTS = str.maketrans("0123456789−", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def plain_power(label: str) -> str:
    """A log axis's tick label in plain text: ``$\\mathdefault{-10^{3}}$`` becomes ``−10³``."""
    if not (label.startswith("$\\mathdefault{") and label.endswith("}$")):
        return label
    body = label[len("$\\mathdefault{"):-2].replace("\\times", "×").replace("-", "−")
    base, caret, exponent = body.partition("^{")
    return base + exponent.rstrip("}").translate(SUPERSCRIPTS) if caret else body


def plain_log_labels(*axes) -> None:
    """Label these log (or symlog) axes ``10³`` in plain text rather than matplotlib's mathtext,
    which looks the same but is parsed afresh for every label of every picture: a tenth of the
    drawing of a picture with a log axis."""
    from matplotlib.ticker import Formatter

    class Plain(Formatter):
        def __init__(self, mathtext: Formatter):
            self.mathtext = mathtext

        def set_locs(self, locs) -> None:  # which ticks the log formatter labels depends on them all
            self.mathtext.set_locs(locs)

        def __call__(self, x, pos=None) -> str:
            return plain_power(self.mathtext(x, pos))

    for axis in axes:
        axis.set_major_formatter(Plain(axis.get_major_formatter()))


def numeric(value) -> np.ndarray | None:
    """``value`` as a float array, or None if it is not numbers (or is booleans)."""
    if value is None or isinstance(value, (str, bytes, dict)):
        return None
    try:
        arr = np.asarray(value)
    except Exception:
        return None
    if arr.dtype.kind not in "iuf" or arr.size == 0 or arr.size > MAX_VALUES:
        return None
    return arr.astype(np.float64)


def compared(exercise: Exercise, case: CaseResult):
    """(Keras's answer, yours) as float arrays of one shape, or None when they can't be compared.

    For an exercise whose answer is judged through ``transform`` (the edge detector's weights are
    judged by the neuron's outputs on digits), yours is transformed the same way.
    """
    got = case.got
    if exercise.transform is not None:
        try:
            got = exercise.transform(case.case, got)
        except Exception:
            return None
    expected, got = numeric(case.case.expected), numeric(got)
    if expected is None or got is None or expected.shape != got.shape:
        return None
    return expected, got


def close(exercise: Exercise, expected: np.ndarray, got: np.ndarray) -> np.ndarray:
    return np.isclose(got, expected, rtol=exercise.rtol, atol=exercise.atol)


def values_vs_keras(exercise: Exercise, cases: list[CaseResult]):
    pairs = [(c, p) for c in cases if (p := compared(exercise, c)) is not None]
    if not pairs:
        return None
    digits = _digit_predictions(pairs)
    if digits is not None:
        return confusion(exercise, *digits)
    failing = next((p for c, p in pairs if not c.passed and p[0].ndim == 2), None)
    if failing is not None and max(failing[0].shape) <= MAX_MATRIX:
        return matrices(exercise, *failing)
    return scatter(exercise, pairs)


def scatter(exercise: Exercise, pairs):
    expected = np.concatenate([p[0].ravel() for _, p in pairs])
    got = np.concatenate([p[1].ravel() for _, p in pairs])
    ok = close(exercise, expected, got)
    if expected.size > MAX_POINTS:
        keep = np.linspace(0, expected.size - 1, MAX_POINTS).astype(int)
        expected, got, ok = expected[keep], got[keep], ok[keep]
    finite = np.isfinite(got)
    fig = new_figure(4.6, 3.6)
    ax = fig.add_subplot()
    lo = float(np.nanmin(np.concatenate([expected, got[finite]])))
    hi = float(np.nanmax(np.concatenate([expected, got[finite]])))
    pad = (hi - lo) * 0.05 or 1.0
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.6", linestyle="--", linewidth=1,
            label="same as Keras")
    ax.scatter(expected[ok & finite], got[ok & finite], s=14, color="tab:green", label="right")
    ax.scatter(expected[~ok & finite], got[~ok & finite], s=18, marker="x", color="tab:red", label="wrong")
    ax.set_xlabel("Keras's value")
    ax.set_ylabel("your value")
    title = f"{exercise.name}: your values vs Keras"
    if not finite.all():
        title += f"\n({int((~finite).sum())} of yours are inf or nan, not shown)"
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.subplots_adjust(left=0.17, right=0.96, bottom=0.14, top=0.86)
    return fig


def matrices(exercise: Exercise, expected: np.ndarray, got: np.ndarray):
    fig = new_figure(8.4, 3.0)
    axes = fig.subplots(1, 3)
    finite = got[np.isfinite(got)]
    lo = float(min(expected.min(), finite.min(initial=expected.min())))
    hi = float(max(expected.max(), finite.max(initial=expected.max())))
    diff = np.where(np.isfinite(got), got - expected, np.nan)
    limit = float(np.nanmax(np.abs(diff), initial=0.0)) or 1.0
    for ax, data, title, kw in (
        (axes[0], expected, "Keras", dict(cmap="viridis", vmin=lo, vmax=hi)),
        (axes[1], got, "yours", dict(cmap="viridis", vmin=lo, vmax=hi)),
        (axes[2], diff, "yours − Keras", dict(cmap="RdBu_r", vmin=-limit, vmax=limit)),
    ):
        image = ax.imshow(data, aspect="auto", interpolation="nearest", **kw)
        ax.set_title(f"{title} {data.shape}", fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle(f"{exercise.name}: a failing case, rows are samples", fontsize=10)
    fig.subplots_adjust(left=0.05, right=0.95, bottom=0.1, top=0.8, wspace=0.45)
    return fig


def _digit_predictions(pairs):
    expected = np.concatenate([p[0].ravel() for _, p in pairs])
    got = np.concatenate([p[1].ravel() for _, p in pairs])
    is_digits = lambda a: np.all(np.isfinite(a)) and np.all((a == np.round(a)) & (a >= 0) & (a <= 9))  # noqa: E731
    kinds = {np.asarray(c.case.expected).dtype.kind for c, _ in pairs}
    if expected.size < 10 or not kinds <= set("iu") or not is_digits(expected) or not is_digits(got):
        return None
    return expected.astype(int), got.astype(int)


def confusion(exercise: Exercise, expected: np.ndarray, got: np.ndarray):
    fig = new_figure(4.4, 3.8)
    ax = fig.add_subplot()
    plots.confusion_matrix(expected.astype(np.int64), got.astype(np.int64), ax=ax)
    ax.set_xlabel("your digit")
    ax.set_ylabel("Keras's digit")
    agree = float(np.mean(expected == got))
    ax.set_title(f"{exercise.name}: you agree with Keras on {agree:.0%}", fontsize=10)
    fig.colorbar(ax.images[0], ax=ax, fraction=0.046, pad=0.04)
    fig.subplots_adjust(left=0.12, right=0.92, bottom=0.13, top=0.9)
    return fig
