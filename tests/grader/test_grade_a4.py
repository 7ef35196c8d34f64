"""Grading a made-up A4 class gives exactly the expected scores, and model files are judged safely.

The class is graded once, in this process, with ``keras.saving.load_model`` replaced by a trap:
student model files are read only in sandboxed children (by ``course.kerasfile``, never by
Keras), never by the grader itself.
"""
import csv
import json

import pytest

from course import exercises
from course.exercises.a4_digits import DIGITS_SCALE
from grader.authoring import sample_models, samples
from grader.grading.grade import grade
from grader.quiet import keras

from .conftest import grade_rows as rows

A4 = exercises.assignment("a4_digits")
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # inside Keras
MODEL = "digits.keras"
HOSTILE = ("zip_bomb", "custom_object", "external_link", "nan_weights", "malformed_hdf5")
"""a few of ``sample_models.HOSTILE_FILES`` (all are refused in ``tests/course/test_kerasfile.py``)"""


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("a4")
    reference = sample_models.reference_file()  # trained once, then cached (see sample_models)
    expected = samples.sample_class("a4_digits", root / "class", artifacts={MODEL: reference})
    files = {
        "model_undertrained": lambda d: sample_models.undertrained(d, epochs=1),
        "model_relu_hidden": lambda d: sample_models.wrong_architecture(d, hidden="relu"),
        "model_784_32_10": lambda d: sample_models.wrong_architecture(d, sizes=(32,)),
        "model_with_lambda": lambda d: sample_models.with_lambda(d, root / "lambda-ran"),
        "model_missing": lambda d: None,
        "model_with_flatten": lambda d: sample_models.with_layer(d, "Flatten"),
        **{f"model_{kind}": (lambda d, kind=kind: sample_models.hostile_file(kind, reference, d)) for kind in HOSTILE},
    }
    for student, make in files.items():
        samples.write_py(root / "class" / student, "a4_digits")
        make(root / "class" / student)
        expected[student] = samples.expected_scores(A4, (MODEL,))
    expected["model_undertrained"][MODEL] = None  # partial credit, checked against its own accuracy
    (root / "class" / "model_with_lambda" / MODEL).stat()  # the hostile file really is there
    loads = []
    k = keras()
    real_load = k.saving.load_model

    def trap(*args, **kwargs):
        loads.append(args)
        raise AssertionError("the grader loaded a student's model file in its own process")

    k.saving.load_model = trap
    try:
        summary = grade("a4_digits", root / "class", root / "out", workers=2, progress=False)
    finally:
        k.saving.load_model = real_load
    undertrained = sample_models.measured_accuracy(root / "class" / "model_undertrained" / MODEL)
    return root, expected, summary, loads, undertrained


def result(root, student):
    return json.loads((root / "out" / "results" / f"{student}.json").read_text())


def output(root, student, test):
    return next(t for t in result(root, student)["tests"] if t["name"] == test)["output"]


def test_one_row_per_student_and_the_model_file_has_its_column(graded):
    root, expected, *_ = graded
    with open(root / "out" / "grades.csv") as f:
        assert next(csv.reader(f)) == ["student", "score", "max_score", "build_model", "backprop", "train", MODEL]
    assert set(rows(root / "out")) == set(expected)


def test_correct_submissions_score_full_marks(graded):
    root, *_ = graded
    table = rows(root / "out")
    for student in ("ada_solution_notebook", "ben_correct_py"):
        assert float(table[student]["score"]) == A4.max_score == 10, result(root, student)["tests"]


def test_each_student_gets_exactly_the_expected_per_function_scores(graded):
    root, expected, *_ = graded
    table = rows(root / "out")
    for student, scores in expected.items():
        got = {name: float(table[student][name]) for name in A4.names}
        want = {name: got[name] if value is None else value for name, value in scores.items()}
        assert got == want, (student, result(root, student)["tests"])


@pytest.mark.parametrize("name, mistake", [(n, m) for n, m in samples.MISTAKES["a4_digits"].items() if m.hint])
def test_each_mistake_loses_only_its_points_and_shows_its_hint(graded, name, mistake):
    root, *_ = graded
    hint = next(h for h in A4[mistake.function].hints if h.name == mistake.hint)
    assert hint.message in output(root, f"mistake_{name}", mistake.function)
    assert float(rows(root / "out")[f"mistake_{name}"]["score"]) == A4.max_score - A4[mistake.function].points


@pytest.mark.parametrize("student, function, words", [
    ("mistake_relu_hidden_layers", "build_model", "hidden layer 1 uses relu"),
    ("mistake_model_not_compiled", "build_model", "not compiled"),
    ("mistake_gradient_ascent", "train", "held-out digits right; it should get at least"),
    ("model_relu_hidden", MODEL, "hidden layer 1 uses relu"),
    ("model_784_32_10", MODEL, "it has 784-32-10"),
    ("model_missing", MODEL, "digits.keras is missing from the submission"),
    ("model_with_lambda", MODEL, "was refused: the model has a Lambda layer"),
    ("model_with_flatten", MODEL, "the model has a Flatten layer"),
    ("model_zip_bomb", MODEL, "a zip bomb?"),
    ("model_custom_object", MODEL, "only Keras's own layers"),
    ("model_external_link", MODEL, "ExternalLink"),
    ("model_nan_weights", MODEL, "NaN or infinite"),
    ("model_malformed_hdf5", MODEL, "not a readable HDF5 file"),
    ("stub_released_notebook", "backprop", "NotImplementedError"),
])
def test_failures_carry_a_readable_reason(graded, student, function, words):
    root, *_ = graded
    assert words in output(root, student, function)


def test_a_hostile_model_file_gets_zero_and_its_code_never_runs_nor_loads_here(graded):
    root, _, _, loads, _ = graded
    assert float(rows(root / "out")["model_with_lambda"][MODEL]) == 0
    assert "Lambda" in output(root, "model_with_lambda", MODEL)
    assert not (root / "lambda-ran").exists(), "the Lambda layer's code ran somewhere"
    assert loads == [], "keras.saving.load_model was called in the grader's own process"


def test_partial_credit_follows_the_documented_straight_line(graded):
    root, _, _, _, accuracy = graded
    assert DIGITS_SCALE.zero < accuracy < DIGITS_SCALE.full, f"the 1-epoch model should be in between: {accuracy}"
    score = float(rows(root / "out")["model_undertrained"][MODEL])
    assert score == pytest.approx(round(A4[MODEL].points * (accuracy - 0.84) / 0.10, 2), abs=0.011)
    assert f"test accuracy {accuracy:.2%}" in output(root, "model_undertrained", MODEL)


def test_the_reference_model_reaches_full_credit(graded):
    root, *_ = graded
    text = output(root, "ben_correct_py", MODEL)
    accuracy = float(text.split("test accuracy ")[1].split("%")[0]) / 100
    assert accuracy >= DIGITS_SCALE.full and f"{A4[MODEL].points:g} of {A4[MODEL].points:g} points" in text
