"""A1 pictures: your parameter counts against Keras's, your sigmoid/ReLU over Keras's, and your edge
detector's weights over a digit."""
from __future__ import annotations

import numpy as np

from course import plots
from course.exercises.a1_neuron import BIAS
from course.exercises.base import Exercise
from course.judge import CaseResult
from grader.pictures import register
from grader.pictures.generic import close, compared, new_figure, numeric, plain_log_labels

LINEAR = 10.0
"""|z| up to here is drawn to scale; beyond it the axis is logarithmic, so 1e4 fits too"""


TICKS = [-1e4, -10.0, -5.0, 0.0, 5.0, 10.0, 1e4]
TICK_LABELS = ["−10⁴", "−10", "−5", "0", "5", "10", "10⁴"]


@register("sigmoid", "relu")
def activation_curve(exercise: Exercise, cases: list[CaseResult]):
    """Every public z with Keras's activation (a line) and yours (dots, red where wrong)."""
    points = []
    for c in cases:
        z, want, have = numeric(c.case.args[0]), numeric(c.case.expected), numeric(c.got)
        if z is not None and want is not None and have is not None and z.shape == want.shape == have.shape:
            points.append((z.ravel(), want.ravel(), have.ravel()))
    return curve(exercise, points, xlabel="z", title=f"Your {exercise.name} on the public cases")


@register("neuron")
def neuron_curve(exercise: Exercise, cases: list[CaseResult]):
    """Each public case at its weighted input z = w·a + b: a neuron's output is sigmoid(z)."""
    points = []
    for c in cases:
        a, w, want, have = numeric(c.case.args[0]), numeric(c.case.args[1]), numeric(c.case.expected), numeric(c.got)
        if a is None or w is None or want is None or have is None or want.size != 1 or have.size != 1:
            continue
        z = float(np.dot(w, a)) + float(c.case.args[2])
        points.append((np.array([z]), want.ravel(), have.ravel()))
    return curve(exercise, points, xlabel="the weighted input z = w·a + b",
                 title="Your neuron against its weighted input", guide=True)


def curve(exercise: Exercise, points, *, xlabel: str, title: str, guide: bool = False):
    """Keras's answers as a line over x, yours as dots; |x| beyond 10 on a logarithmic axis.

    With ``guide``, the textbook sigmoid is drawn too, for the eye: a neuron's outputs lie on it.
    """
    if not points:
        return None
    z, expected, got = (np.concatenate(parts) for parts in zip(*points))
    order = np.argsort(z)
    z, expected, got = z[order], expected[order], got[order]
    ok = close(exercise, expected, got)
    fig = new_figure(7.2, 3.4)
    ax = fig.add_subplot()
    if guide:
        span = max(6.0, float(np.abs(z).max(initial=0)) + 1)
        x = np.linspace(-span, span, 200)
        ax.plot(x, 0.5 * (1 + np.tanh(0.5 * x)), color="tab:blue", linewidth=1, alpha=0.5, label="σ(z)")
        ax.plot(z, expected, "s", color="0.35", markersize=6, alpha=0.7, label=f"Keras {exercise.name}")
    else:
        ax.plot(z, expected, color="0.35", linewidth=2.5, alpha=0.6, label=f"Keras {exercise.name}")
    ax.plot(z[ok], got[ok], "o", color="tab:green", markersize=4, label="yours, right")
    ax.plot(z[~ok], got[~ok], "x", color="tab:red", markersize=7, mew=2, label="yours, wrong")
    if np.abs(z).max(initial=0) > LINEAR:
        # linscale: the linear middle, where the curve bends, gets as much room as 4 decades
        ax.set_xscale("symlog", linthresh=LINEAR, linscale=4)
        lo, hi = z.min(), z.max()
        keep = [(t, label) for t, label in zip(TICKS, TICK_LABELS) if lo - 1 <= t <= hi + 1]
        ax.set_xticks([t for t, _ in keep], [label for _, label in keep])
        xlabel += f" (to scale for |z| ≤ {LINEAR:g}, logarithmic beyond)"
    values = np.concatenate([expected, got[np.isfinite(got)]])
    if np.abs(values).max(initial=0) > LINEAR:
        ax.set_yscale("symlog", linthresh=LINEAR, linscale=2)
        ax.set_ylim(bottom=min(-0.5, float(values.min()) * 1.2))  # symlog's autoscale adds decades below 0
        plain_log_labels(ax.yaxis)
    ax.minorticks_off()  # symlog's minor ticks cost a quarter of the drawing time and add nothing here
    ax.set_xlabel(xlabel)
    ax.set_ylabel(exercise.name)
    ax.set_title(f"{title}: {int(ok.sum())} of {ok.size} values right", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.subplots_adjust(left=0.1, right=0.78, bottom=0.16, top=0.9)
    return fig


@register("edge_detector")
def edge_detector(exercise: Exercise, cases: list[CaseResult]):
    """Your weights over a 7 with the region asked for outlined, and the neuron's outputs on digits."""
    case = next((c for c in cases if not c.passed and c.got is not None), None)
    weights = numeric(case.got) if case else None
    if weights is None or weights.size != 784 or case.case.probe is None:
        return None
    top, left, height, width = (int(v) for v in case.case.args)
    probe = np.asarray(case.case.probe)  # (n, 784) real digits, the first a 7
    fig = new_figure(8.2, 3.3)
    ax, bars = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1.0]})
    plots.weights_over_digit(weights.reshape(28, 28), probe[0], ax=ax)
    from matplotlib.patches import Rectangle

    ax.add_patch(Rectangle((left - 0.5, top - 0.5), width, height, fill=False, edgecolor="gold",
                           linewidth=2, linestyle="--", label="the region asked for"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), fontsize=8, frameon=False)
    ax.set_title(f"edge_detector{top, left, height, width}:\nyour weights over a 7", fontsize=9)
    outputs = compared(exercise, case)
    if outputs is not None:  # the neuron w·a - 10 on each probe digit, with Keras's weights and yours
        expected, got = outputs
        x = np.arange(expected.size)
        bars.bar(x - 0.2, expected, width=0.4, color="0.6", label="Keras")
        bars.bar(x + 0.2, got, width=0.4, color="tab:red", label="yours")
        bars.axhline(0, color="black", linewidth=0.8)
        bars.set_xticks(x, [f"#{i + 1}" for i in x])
        bars.set_xlabel("digit")
        bars.set_ylabel(f"w·a {BIAS:+g} (fires above 0)")
        bars.set_title("the neuron on real digits", fontsize=9)
        bars.legend(fontsize=8)
        bars.grid(axis="y", alpha=0.3)
    else:
        bars.set_visible(False)
    fig.subplots_adjust(left=0.02, right=0.97, bottom=0.16, top=0.86, wspace=0.6)
    return fig


@register("quadratic_logistic_parameters")
def parameter_counts(exercise: Exercise, cases: list[CaseResult]):
    """Keras's counts and yours at each public n, on the lesson's log-log picture of the growth."""
    rows = [(float(c.case.args[0]), float(c.case.expected), numeric(c.got), c.passed) for c in cases]
    rows = [(n, want, float(have.item()), ok) for n, want, have, ok in rows
            if have is not None and have.size == 1 and np.isfinite(have.item()) and have.item() > 0]
    if not rows:
        return None
    n, want, have, ok = (np.array(column) for column in zip(*sorted(rows)))
    ok = ok.astype(bool)
    fig = new_figure(6.4, 3.8)
    ax = fig.add_subplot()
    plots.parameter_growth(ax=ax, pixels=np.unique(np.geomspace(1, max(3000.0, n.max()), 60).astype(int)))
    ax.minorticks_off()  # a log axis's minor ticks: hundreds of tick objects, half the drawing time, no reading
    plain_log_labels(ax.xaxis, ax.yaxis)
    ax.plot(n, want, "s", color="0.35", markersize=8, alpha=0.7, label="Keras's count_params()")
    ax.plot(n[ok], have[ok], "o", color="tab:green", markersize=4, label="yours, right")
    ax.plot(n[~ok], have[~ok], "x", color="tab:red", markersize=8, mew=2, label="yours, wrong")
    for k, w, h in zip(n[~ok], want[~ok], have[~ok]):
        ax.annotate(f"{h - w:+,.0f}", (k, h), xytext=(-7, 2), textcoords="offset points", ha="right", fontsize=8,
                    color="tab:red")
    ax.legend(loc="upper left", fontsize=7, framealpha=0.9)
    ax.set_title(f"Your counts on the public cases: {int(ok.sum())} of {ok.size} right (log-log)", fontsize=10)
    fig.subplots_adjust(left=0.11, right=0.97, bottom=0.15, top=0.9)
    return fig
