"""``grader.pictures``: which picture an exercise gets, and that no returned value can break one."""
import base64
import dataclasses

import numpy as np
import pytest

from course import codec
from course.exercises.base import Case, Exercise
from course.fixtures import public_cases
from course.judge import CaseResult, ExerciseResult, judge_all
from course.calls import Outcome
from grader import pictures
from grader.pictures import a1_neuron as a1_pictures
from grader.pictures import generic

A1 = "a1_neuron"


def judged(assignment_id, name, answer):
    """The exercise judged on its public cases, with ``answer(case)`` as the student's return value."""
    from course import exercises

    exercise = exercises.assignment(assignment_id)[name]
    cases = public_cases(assignment_id)[name]
    return judge_all(exercise, cases, [Outcome(value=answer(c)) for c in cases])


def decodes(uri):
    data = base64.b64decode(uri.split(",", 1)[1])
    return data[:8] == b"\x89PNG\r\n\x1a\n"


def test_exercises_get_their_own_picture_or_the_generic_one():
    assert pictures.drawer(A1, "sigmoid") is a1_pictures.activation_curve
    assert pictures.drawer(A1, "edge_detector") is a1_pictures.edge_detector
    assert pictures.drawer(A1, "quadratic_logistic_parameters") is a1_pictures.parameter_counts
    assert pictures.drawer(A1, "weighted_sum") is generic.values_vs_keras
    assert pictures.drawer("a9_not_yet_written", "layer_forward") is generic.values_vs_keras


def test_a_wrong_sigmoid_is_drawn_over_keras():
    result = judged(A1, "sigmoid", lambda c: np.tanh(np.asarray(c.args[0], dtype=float)))
    assert not result.passed
    fig = a1_pictures.activation_curve(result.exercise, result.cases)
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.lines] == ["Keras sigmoid", "yours, right", "yours, wrong"]
    assert decodes(pictures.picture(A1, result))


def test_wrong_parameter_counts_are_drawn_on_the_growth_picture():
    """n² products instead of n(n+1)/2: Keras's counts as squares, yours as red crosses, each labelled."""
    result = judged(A1, "quadratic_logistic_parameters", lambda c: c.args[0] + c.args[0] ** 2 + 1)
    assert not result.passed
    fig = a1_pictures.parameter_counts(result.exercise, result.cases)
    (ax,) = fig.axes
    labels = [line.get_label() for line in ax.lines]
    assert {"Keras's count_params()", "yours, right", "yours, wrong"} <= set(labels)
    assert ax.get_xscale() == ax.get_yscale() == "log"
    wrong = next(line for line in ax.lines if line.get_label() == "yours, wrong")
    assert len(wrong.get_xdata()) == len(result.cases)  # every public n is wrong (n >= 2)
    assert any(t.get_text().startswith("+") for t in ax.texts)  # how far off, per case
    assert decodes(pictures.picture(A1, result))


@pytest.mark.parametrize("mathtext, plain", [
    (r"$\mathdefault{10^{3}}$", "10³"), (r"$\mathdefault{-10^{1}}$", "−10¹"), (r"$\mathdefault{10^{-2}}$", "10⁻²"),
    (r"$\mathdefault{0}$", "0"), (r"$\mathdefault{2\times10^{-3}}$", "2×10⁻³"), ("5", "5"),
])
def test_log_axes_are_labelled_in_plain_text(mathtext, plain):
    assert generic.plain_power(mathtext) == plain


@pytest.mark.parametrize("name, answer", [
    ("quadratic_logistic_parameters", lambda c: c.args[0] + c.args[0] ** 2 + 1),  # log-log
    ("sigmoid", lambda c: 1e3 * np.asarray(c.args[0], dtype=float)),  # a symlog value axis
])
def test_pictures_draw_no_mathtext(name, answer):
    """Every label the same as matplotlib's but in plain text, which is not parsed afresh for each
    label of each picture (mathtext was a tenth of such a picture's drawing)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    result = judged(A1, name, answer)
    fig = pictures.drawer(A1, name)(result.exercise, result.cases)
    FigureCanvasAgg(fig).draw()
    labels = [t.get_text() for ax in fig.axes for axis in (ax.xaxis, ax.yaxis) for t in axis.get_ticklabels()]
    assert any("10" in label for label in labels)
    assert not [label for label in labels if "$" in label]


def exercise(name="layer_forward"):
    return Exercise(name, points=2)


def results(ex, pairs):
    """A failing exercise whose public cases expected ``e`` and got ``g``, for each pair."""
    return ExerciseResult(ex, [CaseResult(Case((np.zeros(1),), expected=e), False, "differs", got=g) for e, g in pairs])


def test_generic_picture_shows_matrices_side_by_side():
    rng = np.random.default_rng(0)
    expected = rng.uniform(size=(5, 3))
    fig = generic.values_vs_keras(exercise(), results(exercise(), [(expected, expected.T.copy().T * 2)]).cases)
    assert [ax.get_title() for ax in fig.axes[:3]] == ["Keras (5, 3)", "yours (5, 3)", "yours − Keras (5, 3)"]


def test_generic_picture_shows_digit_predictions_as_a_confusion_matrix():
    expected = np.arange(20) % 10
    got = expected.copy()
    got[:4] = 7
    fig = generic.values_vs_keras(exercise("predict"), results(exercise("predict"), [(expected, got)]).cases)
    assert "agree with Keras on 80%" in fig.axes[0].get_title()


def test_generic_picture_plots_scalars_against_keras():
    fig = generic.values_vs_keras(exercise("weighted_sum"),
                                  results(exercise("weighted_sum"), [(1.0, 2.0), (3.0, 3.0)]).cases)
    assert fig.axes[0].get_xlabel() == "Keras's value"


ODD_VALUES = [
    np.full((5, 3), np.nan), np.full((5, 3), np.inf), np.full((5, 3), 1e308), np.ones((3, 5)), np.ones(15),
    np.ones((5, 3), dtype=bool), np.ones((5, 3), dtype=np.complex128), "five by three", None, {"a": 1}, [np.ones(3)] * 5,
    codec.Unsupported("Tensor", "a tf.Tensor"), np.zeros(2_000_000), 7,
]


@pytest.mark.parametrize("got", ODD_VALUES, ids=lambda v: type(v).__name__ + str(np.shape(v) if not isinstance(v, dict) else ""))
def test_odd_return_values_give_a_picture_or_none_never_an_error(got):
    expected = np.linspace(0, 1, 15).reshape(5, 3)
    uri = pictures.picture("a9_not_yet_written", results(exercise(), [(expected, got)]))
    assert uri is None or decodes(uri)


@pytest.mark.parametrize("name, answer", [
    ("sigmoid", lambda c: "not a number"),
    ("relu", lambda c: np.full(np.shape(c.args[0]), np.nan)),
    ("neuron", lambda c: [1, 2, 3]),
    ("edge_detector", lambda c: np.full(784, np.inf)),
    ("edge_detector", lambda c: np.ones((28, 28))),
    ("quadratic_logistic_parameters", lambda c: -5),
    ("quadratic_logistic_parameters", lambda c: float("inf")),
    ("quadratic_logistic_parameters", lambda c: 1e308),
    ("quadratic_logistic_parameters", lambda c: "many"),
    ("quadratic_logistic_parameters", lambda c: np.arange(3)),
])
def test_odd_answers_to_a1_pictures_never_raise(name, answer):
    uri = pictures.picture(A1, judged(A1, name, answer))
    assert uri is None or decodes(uri)


def test_the_same_wrong_answer_reuses_its_picture_and_hidden_cases_are_never_drawn():
    wrong = judged(A1, "relu", lambda c: np.clip(np.asarray(c.args[0], dtype=float), 0, 1))
    first = pictures.picture(A1, wrong)
    again = judged(A1, "relu", lambda c: np.clip(np.asarray(c.args[0], dtype=float), 0, 1))
    assert pictures.picture(A1, again) is first  # from the cache, not drawn twice
    hidden = dataclasses.replace(wrong, cases=[
        dataclasses.replace(c, case=dataclasses.replace(c.case, hidden=True)) for c in wrong.cases])
    assert pictures.picture(A1, hidden) is None
    with_hidden = dataclasses.replace(wrong, cases=wrong.cases + [
        CaseResult(Case((np.ones(3),), expected=np.ones(3), hidden=True), False, "", got=np.zeros(3))])
    assert pictures.picture(A1, with_hidden) is first, "a hidden case must not change the picture"


def test_threads_asking_for_one_picture_draw_it_once_and_share_it():
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    calls = []

    @pictures.register("concurrency_probe")
    def slow(ex, cases):
        calls.append(threading.get_ident())
        time.sleep(0.3)  # long enough for every other thread to ask meanwhile
        return generic.values_vs_keras(ex, cases)

    ex = exercise("concurrency_probe")
    with ThreadPoolExecutor(8) as pool:
        uris = list(pool.map(lambda _: pictures.picture("a9_probe", results(ex, [(1.0, 2.0), (3.0, 4.0)])), range(8)))
    assert len(calls) == 1 and len(set(uris)) == 1 and decodes(uris[0])
