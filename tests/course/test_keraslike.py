"""Tests for ``course.keraslike`` and ``course.pretrained``: Keras's weight API, without TensorFlow."""
import subprocess
import sys

import numpy as np
import pytest

from course import pretrained
from course.keraslike import KerasLikeDense, KerasLikeModel


def tiny():
    rng = np.random.default_rng(0)
    return KerasLikeModel([KerasLikeDense(rng.normal(size=(5, 4)), rng.normal(size=4), name="a"),
                           KerasLikeDense(rng.normal(size=(4, 3)), rng.normal(size=3), name="b")], name="tiny")


def test_it_answers_the_keras_calls_the_lessons_use():
    model = tiny()
    kernel, bias = model.layers[0].get_weights()
    assert kernel.shape == (5, 4) and bias.shape == (4,)
    assert [w.shape for w in model.get_weights()] == [(5, 4), (4,), (4, 3), (3,)]
    assert model.count_params() == 5 * 4 + 4 + 4 * 3 + 3 and model.sizes == [5, 4, 3]
    assert model.layers[1].units == 3
    assert model.layers[1].get_config() == {"name": "b", "units": 3, "activation": "sigmoid"}
    assert "5-4-3" in repr(model) and "39 parameters" in repr(model)


def test_get_weights_hands_out_copies():
    model = tiny()
    kernel, _ = model.layers[0].get_weights()
    kernel[:] = 0.0
    assert np.abs(model.layers[0].get_weights()[0]).sum() > 0


@pytest.mark.parametrize("kernel, bias, activation, match", [
    (np.zeros(3), np.zeros(3), "sigmoid", r"2-D float array \(n_in, n_out\); received shape \(3,\)"),
    (np.zeros((3, 2)), np.zeros(3), "sigmoid", r"bias should have shape \(2,\), one per unit; received shape \(3,\)"),
    (np.zeros((3, 2), dtype=int), np.zeros(2), "sigmoid", "dtype int"),
    (np.zeros((3, 2)), np.zeros(2), "tanh", "activation should be one of"),
])
def test_bad_layers_are_refused_with_what_was_expected(kernel, bias, activation, match):
    with pytest.raises(ValueError, match=match):
        KerasLikeDense(kernel, bias, activation=activation)


def test_layers_that_dont_chain_are_refused():
    with pytest.raises(ValueError, match="layer 1 expects 5 inputs but layer 0 has 4 units"):
        KerasLikeModel([KerasLikeDense(np.zeros((5, 4)), np.zeros(4)), KerasLikeDense(np.zeros((5, 2)), np.zeros(2))])


def test_the_pretrained_model_loads_without_tensorflow():
    code = ("import sys; from course import pretrained; m = pretrained.load(); "
            "print(m.sizes, 'tensorflow' in sys.modules or 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[784, 16, 16, 10] False"


def test_a_weights_file_with_missing_arrays_is_refused(tmp_path):
    path = tmp_path / "broken.npz"
    np.savez(path, kernel_0=np.zeros((784, 16), np.float32), bias_0=np.zeros(16, np.float32),
             kernel_1=np.zeros((16, 10)))
    with pytest.raises(ValueError, match="should hold kernel_0, bias_0, kernel_1"):
        pretrained.load(path)
