"""Tests for ``course.exercises.a4_digits``: architecture messages, hints, partial credit; no TensorFlow."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from course.calls import Outcome
from course.exercises import assignment
from course.exercises.a4_digits import DIGITS_SCALE, architecture_problem, network
from course.fixtures import public_cases
from course.judge import judge, judge_all

A4 = assignment("a4_digits")


def dense(units, activation, n_in, cls="Dense", use_bias=True):
    return {"class": cls, "units": units, "activation": activation, "use_bias": use_bias,
            "kernel_shape": [n_in, units] if cls == "Dense" else None}


def described(layers, params=13002, **extra):
    return {"type": "Sequential", "keras": True, "built": True, "compiled": True, "params": params,
            "layers": layers, **extra}


GOOD = [dense(16, "sigmoid", 784), dense(16, "sigmoid", 16), dense(10, "softmax", 16)]


@pytest.mark.parametrize("info, output, message", [
    (described(GOOD), "softmax", ""),
    (described(GOOD[:2] + [dense(10, "sigmoid", 16)]), None, ""),  # digits.keras: any output activation
    (described([dense(16, "linear", 784), dense(None, "sigmoid", None, cls="Activation")] + GOOD[1:]), "softmax", ""),
    (described(GOOD[:2] + [dense(10, "sigmoid", 16)]), "softmax", "the output layer uses sigmoid; it should use softmax"),
    (described([dense(16, "relu", 784)] + GOOD[1:]), "softmax", "hidden layer 1 uses relu"),
    (described([dense(32, "sigmoid", 784), dense(10, "softmax", 32)], params=25450), "softmax", "it has 784-32-10"),
    (described([dense(16, "sigmoid", 784, use_bias=False)] + GOOD[1:]), "softmax", "Dense layer 1 has no biases"),
    (described([dense(None, None, None, cls="Lambda")] + GOOD), None, "has a Lambda layer"),
    ({"type": "dict", "keras": False}, "softmax", "should be a keras.Sequential model; got a dict"),
    (described(GOOD, built=False), "softmax", "keras.Input(shape=(784,))"),
])
def test_architecture_problems_are_named(info, output, message):
    problem = architecture_problem(info, what="m", output_activation=output)
    assert (message in problem) if message else problem == "", problem


def test_uncompiled_model_is_told_to_compile():
    case = public_cases("a4_digits")["build_model"][0]
    got = {"model": described(GOOD, compiled=False), "outputs": case.expected, "problem": ""}
    result = judge(A4["build_model"], case, Outcome(value=got))
    assert not result.passed and "not compiled" in result.message


@pytest.mark.parametrize("got, message", [
    (([np.zeros((16, 784)), np.zeros((16, 16))], [np.zeros(16)] * 3), "weights should be a list of 3 arrays"),
    (([np.zeros((784, 16)), np.zeros((16, 16)), np.zeros((10, 16))], [np.zeros(16), np.zeros(16), np.zeros(10)]),
     "weights[0]: expected shape (16, 784), got (784, 16): is it transposed?"),
    (([np.zeros((16, 784)), np.zeros((16, 16)), np.zeros((10, 16))], [np.zeros((16, 1)), np.zeros(16), np.zeros(10)]),
     "biases[0]: expected shape (16,), got (16, 1): did you forget to flatten?"),
    (np.zeros(3), "train should return a pair (weights, biases)"),
])
def test_train_results_of_the_wrong_shape_are_named(got, message):
    with pytest.raises(ValueError) as e:
        network(got)
    assert message in str(e.value)


@pytest.fixture
def backprop_case():
    return next(c for c in public_cases("a4_digits")["backprop"] if len(c.args[2]) == 3 and c.args[2][0].shape[1] == 784)


@pytest.mark.parametrize("mistake, hint", [
    (lambda w, b, v: ([g.T for g in w], b), "wrong_transpose"),
    (lambda w, b, v: (w, [np.array([g.sum()]) for g in b]), "bias_summed_wrong_axis"),
    (lambda w, b, v: (w[::-1], b[::-1]), "layers_reversed"),
    (lambda w, b, v: v[0], "missing_sigmoid_prime"),  # no σ' at the output
    (lambda w, b, v: v[2], "missing_sigmoid_prime"),  # no σ' anywhere
    (lambda w, b, v: ([2 * g for g in w], b), None),  # wrong, but not a mistake we can name
])
def test_backprop_mistakes_are_recognised(backprop_case, mistake, hint):
    nabla_w, nabla_b = backprop_case.expected
    got = mistake(list(nabla_w), list(nabla_b), backprop_case.probe["no_sigmoid_prime"])
    result = judge(A4["backprop"], backprop_case, Outcome(value=got))
    assert not result.passed
    assert (result.hint.name if result.hint else None) == hint


def test_the_right_gradients_pass(backprop_case):
    assert judge(A4["backprop"], backprop_case, Outcome(value=backprop_case.expected)).passed


@pytest.mark.parametrize("accuracy, points", [(0.97, 2), (0.94, 2), (0.90, 1.2), (0.8462, 0.12), (0.84, 0), (0.5, 0)])
def test_digits_keras_earns_points_on_a_straight_line(accuracy, points):
    case = public_cases("a4_digits")["digits.keras"][0]
    labels = np.asarray(case.expected)
    right = int(round(accuracy * labels.size))
    predictions = np.where(np.arange(labels.size) < right, labels, (labels + 1) % 10)
    outputs = np.eye(10)[predictions]
    got = {"model": described(GOOD), "outputs": outputs, "problem": ""}
    result = judge_all(A4["digits.keras"], [case], [Outcome(value=got)])
    assert result.score == pytest.approx(points)
    assert result.passed == (accuracy >= DIGITS_SCALE.full)
    assert f"test accuracy {right / labels.size:.2%}" in result.summary()


def test_an_unloadable_model_file_earns_nothing_with_the_reason():
    case = public_cases("a4_digits")["digits.keras"][0]
    got = {"model": None, "outputs": None, "problem": "was refused: the file is not a .keras file (a zip archive): bad zip"}
    result = judge_all(A4["digits.keras"], [case], [Outcome(value=got)])
    assert result.score == 0 and "bad zip" in result.summary()


def test_self_check_of_backprop_and_train_never_imports_tensorflow(solution):
    code = textwrap.dedent("""
        import sys
        from course import check, source
        from grader.authoring.solutions import notebook_path
        defs = source.load_definitions(notebook_path("a4_digits"))
        defs.statements = [(w, s) for w, s in defs.statements if "keras" not in source.ast.unparse(s)]
        namespace, _ = source.execute(defs)
        check("backprop", namespace["backprop"])
        check("train", namespace["train"])
        assert "tensorflow" not in sys.modules and "keras" not in sys.modules, "TensorFlow was imported"
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "✔ backprop" in proc.stdout and "✔ train" in proc.stdout
