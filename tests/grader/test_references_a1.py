"""Do the A1 reference solution and the Keras layers named in the design agree on random inputs?

Keras runs both in float64 (what the grader uses, agreement to ~1e-12) and in its default
float32 (what a student would build, agreement to float32 precision), deliberately.
"""
import numpy as np
import pytest

from grader.quiet import keras
from grader.references import a1_neuron as ref
from grader.references.keras_layers import activation, dense, run

RNG = np.random.default_rng(7)
TOL = {"float64": dict(rel=1e-10, abs=1e-12), "float32": dict(rel=1e-5, abs=1e-5)}


@pytest.fixture(scope="module")
def sol(solution):
    return solution("a1_neuron")


def keras_dense(kernel, bias, activation_name, dtype):
    k = keras()
    layer = k.layers.Dense(kernel.shape[1], activation=activation_name, use_bias=bias is not None, dtype=dtype)
    layer.build((None, kernel.shape[0]))
    layer.set_weights([kernel] + ([bias] if bias is not None else []))
    return layer


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_weighted_sum_weighted_input_neuron_fires(sol, dtype):
    a = ref.digits(RNG, 5)
    for i in range(5):
        w, b = RNG.normal(0, 0.1, 784), float(RNG.normal(0, 2))
        x = a[i][None, :]
        plain = keras_dense(w[:, None], None, None, dtype)
        biased = keras_dense(w[:, None], np.array([b]), None, dtype)
        squished = keras_dense(w[:, None], np.array([b]), "sigmoid", dtype)
        threshold = keras_dense(w[:, None], np.array([-abs(b)]), None, dtype)
        assert sol["weighted_sum"](a[i], w) == pytest.approx(float(plain(x)[0, 0]), **TOL[dtype])
        assert sol["weighted_input"](a[i], w, b) == pytest.approx(float(biased(x)[0, 0]), **TOL[dtype])
        assert sol["neuron"](a[i], w, b) == pytest.approx(float(squished(x)[0, 0]), **TOL[dtype])
        assert sol["fires"](a[i], w, abs(b)) == bool(threshold(x)[0, 0] > 0)


@pytest.mark.parametrize("name", ["sigmoid", "relu"])
def test_activations_match_keras_including_saturation(sol, name):
    z = np.concatenate([RNG.normal(0, 5, 100), [-1e4, -745.0, -40.0, 0.0, 40.0, 1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow warning allowed
        got = sol[name](z)
    np.testing.assert_allclose(got, activation(name, z), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(got, np.asarray(getattr(keras().activations, name)(z.astype("float32"))),
                               rtol=1e-6, atol=1e-7)
    assert isinstance(sol[name](0.5), float)


def test_edge_detector_outputs_match_a_keras_neuron_on_real_digits(sol):
    digits = ref.digits(RNG, 20)
    for top, left, height, width in [(0, 0, 28, 28), (3, 20, 10, 5), (27, 0, 1, 28)]:
        w = sol["edge_detector"](top, left, height, width)
        assert w.shape == (784,) and w.sum() == height * width
        layer = dense(w[None, :], np.array([-10.0]))
        np.testing.assert_allclose(digits @ w - 10.0, run(layer, digits)[:, 0], rtol=1e-12)


def test_hidden_cases_depend_on_the_seed_and_are_reproducible():
    from grader import references

    one = references.hidden_cases("a1_neuron", 1)["weighted_sum"][0].args[1]
    again = references.hidden_cases("a1_neuron", 1)["weighted_sum"][0].args[1]
    other = references.hidden_cases("a1_neuron", 2)["weighted_sum"][0].args[1]
    assert np.array_equal(one, again) and not np.array_equal(one, other)


def test_quadratic_features_by_hand():
    """Two pixels (2, 3) -> x1, x2, x1², x1·x2, x2²: the lesson's worked example."""
    k = keras()
    x = np.array([[2.0, 3.0], [1.0, -1.0]])
    np.testing.assert_array_equal(np.asarray(ref.quadratic_features(k.ops.convert_to_tensor(x))),
                                  [[2, 3, 4, 6, 9], [1, -1, 1, -1, 1]])


@pytest.mark.parametrize("n", [1, 2, 3, 28, 784, 2500])
def test_quadratic_logistic_parameters_matches_count_params(sol, n):
    """The solution agrees with the Keras model: a weight per feature it really computes, and a bias."""
    model = ref.quadratic_logistic_model(n)
    dense_layer = model.layers[-1]
    assert isinstance(dense_layer, keras().layers.Dense) and dense_layer.activation.__name__ == "sigmoid"
    assert sol["quadratic_logistic_parameters"](n) == model.count_params() == dense_layer.kernel.shape[0] + 1
    assert type(sol["quadratic_logistic_parameters"](n)) is int
    if n == 2500:
        assert model.count_params() > 3_000_000  # the lesson's claim for a 50x50 image


def test_quadratic_model_runs_on_pixels():
    """The reference model is a real model: it predicts a probability for a batch of images."""
    model = ref.quadratic_logistic_model(9)
    out = np.asarray(model(np.asarray(RNG.uniform(0, 1, size=(4, 9)), dtype="float32")))
    assert out.shape == (4, 1) and ((out > 0) & (out < 1)).all()


def test_hidden_pixel_counts_include_a_drawn_size():
    from grader import references

    public = {c.args[0] for c in references.public_cases("a1_neuron")["quadratic_logistic_parameters"]}
    hidden = [c.args[0] for c in references.hidden_cases("a1_neuron", 1)["quadratic_logistic_parameters"]]
    assert {784, 2500} <= public and 1 in hidden and not set(hidden) & public
