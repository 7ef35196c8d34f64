"""Tests for the self-check: ``check(name, fn)`` and ``course check``, without TensorFlow."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from course import check
from course.selfcheck import CheckFailed


def test_correct_function_passes_and_prints(solution, capsys):
    check("sigmoid", solution("a1_neuron")["sigmoid"])
    assert "✔ sigmoid" in capsys.readouterr().out


@pytest.mark.parametrize("name, wrong, hint", [
    ("sigmoid", np.tanh, "tanh"),
    ("relu", lambda z: np.clip(z, 0, 1), "no upper limit"),
    ("weighted_sum", lambda a, w: a * w, "element-wise products"),
    ("quadratic_logistic_parameters", lambda n: n + n * (n + 1) // 2, "also has a bias"),
    ("quadratic_logistic_parameters", lambda n: n * (n + 1) // 2 + 1, "n short"),
    ("quadratic_logistic_parameters", lambda n: n + n * n + 1, "not n²"),
    ("quadratic_logistic_parameters", lambda n: n + 1, "plain logistic regression"),
    ("quadratic_logistic_parameters", lambda n: n + n * (n + 1) / 2 + 1, "divide with //"),
])
def test_wrong_function_fails_with_hint(name, wrong, hint):
    with pytest.raises(CheckFailed, match=hint):
        check(name, wrong)


def test_stub_says_not_implemented():
    def stub(z):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not implemented yet"):
        check("sigmoid", stub)


def test_unknown_exercise_lists_the_known_ones():
    with pytest.raises(KeyError, match="weighted_sum"):
        check("sigmoidd", np.tanh)


def test_self_check_never_imports_tensorflow_and_is_fast():
    code = textwrap.dedent("""
        import sys, time
        start = time.perf_counter()
        import numpy as np
        from course import check
        check("relu", lambda z: np.maximum(0, z))
        elapsed = time.perf_counter() - start
        assert "tensorflow" not in sys.modules and "keras" not in sys.modules, "TensorFlow was imported"
        print(f"{elapsed:.3f}")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.strip().splitlines()[-1]) < 1.0


def test_course_check_cli_exit_codes(tmp_path, solution):
    from course import exercises
    from grader.authoring.samples import write_py

    n = len(exercises.assignment("a1_neuron").exercises)
    good = write_py(tmp_path / "good", "a1_neuron")
    bad = write_py(tmp_path / "bad", "a1_neuron", {"relu": "def relu(z):\n    return np.clip(z, 0, 1)\n"})
    ok = subprocess.run([sys.executable, "-m", "course.cli", "check", "a1_neuron", str(good)], capture_output=True, text=True)
    assert ok.returncode == 0 and f"{n}/{n} exercises pass" in ok.stdout
    ko = subprocess.run([sys.executable, "-m", "course.cli", "check", "a1_neuron", str(bad)], capture_output=True, text=True)
    assert ko.returncode == 1 and "✘ relu" in ko.stdout and "no upper limit" in ko.stdout


@pytest.mark.parametrize("assignment_id", ["a2_layer", "a3_network"])
def test_course_check_passes_the_reference_solution(tmp_path, assignment_id):
    """A3's public cases include a Keras-like model, which reaches the self-check through the codec."""
    from course import exercises
    from grader.authoring.samples import write_py

    good = write_py(tmp_path, assignment_id)
    n = len(exercises.assignment(assignment_id).exercises)
    proc = subprocess.run([sys.executable, "-m", "course.cli", "check", assignment_id, str(good)],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and f"{n}/{n} exercises pass" in proc.stdout, proc.stdout + proc.stderr


def test_checking_weights_from_keras_needs_no_tensorflow():
    """Its public cases hold Keras-like models: they must decode without importing Keras."""
    code = textwrap.dedent("""
        import sys
        from course import check
        check("weights_from_keras", lambda m: ([l.get_weights()[0].T for l in m.layers],
                                               [l.get_weights()[1] for l in m.layers]))
        assert "tensorflow" not in sys.modules and "keras" not in sys.modules, "TensorFlow was imported"
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and "✔ weights_from_keras" in proc.stdout, proc.stdout + proc.stderr


def test_course_check_a4_says_it_starts_tensorflow_and_prints_only_results(tmp_path):
    """TensorFlow's C++ log (absl's ``I0000 …``, ``E0000 … cuInit …``) must not reach the student.

    Run with none of the quieting variables set, as a student's shell would be.
    """
    import os

    from grader.authoring.samples import write_py

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TF_", "CUDA_", "KERAS_", "GLOG_", "ABSL_"))}
    proc = subprocess.run([sys.executable, "-m", "course.cli", "check", "a4_digits", str(write_py(tmp_path, "a4_digits"))],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0] == "a4_digits's check starts TensorFlow first (a few seconds)…"
    assert all(line[:1] in "✔–" for line in lines[1:-1]) and lines[-1] == "3/3 exercises pass", proc.stdout


def test_a_function_that_never_returns_is_stopped_and_said_so():
    """An endless loop (even one that catches ``Exception``) does not hang the notebook: the
    self-check stops it after ``PATIENCE`` times the grader's limit, and says the grader gives it 0."""
    import signal
    import time

    from course.selfcheck import PATIENCE, run_check

    def sigmoid(z):
        while True:
            try:
                time.sleep(0.01)
            except Exception:
                pass

    start = time.monotonic()
    result = run_check("sigmoid", sigmoid, timeout=0.2)
    assert time.monotonic() - start < PATIENCE * 0.2 + 2
    assert not result.passed and result.summary() == (
        f"sigmoid was still running after {PATIENCE * 0.2:g} s, and the grader stops it after 0.2 s (no points): "
        "an endless loop, or a Python loop where NumPy would do?")
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # nothing left armed
    assert signal.getsignal(signal.SIGALRM) == signal.SIG_DFL
    assert run_check("relu", lambda z: np.maximum(0, z), timeout=0.2).passed  # and the next check is as usual
