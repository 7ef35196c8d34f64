"""Do the A2 reference solution and Keras's ``Dense`` agree on random inputs?

Keras runs in float64 (what the grader uses, agreement to ~1e-12) and in its default float32 (what
a student would build, agreement to float32 precision). Each Keras layer here is built directly
from the Keras API with kernel ``W.T``, not through the grader's reference helpers.
"""
import numpy as np
import pytest

from grader.quiet import keras
from grader.references import a2_layer as ref
from grader.references.keras_layers import dense, run

RNG = np.random.default_rng(11)
TOL = {"float64": dict(rtol=1e-10, atol=1e-12), "float32": dict(rtol=1e-5, atol=1e-6)}


@pytest.fixture(scope="module")
def sol(solution):
    return solution("a2_layer")


def keras_dense(W, b, activation, dtype):
    layer = keras().layers.Dense(W.shape[0], activation=activation, dtype=dtype)
    layer.build((None, W.shape[1]))
    layer.set_weights([W.T.astype(dtype), b.astype(dtype)])
    return layer


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("n_out, n_in", [(16, 784), (10, 16), (16, 16), (3, 5)])
def test_layer_forward_matches_a_keras_dense_for_one_example_and_a_batch(sol, dtype, activation, n_out, n_in):
    W, b = RNG.normal(0, 1 / np.sqrt(n_in), (n_out, n_in)), RNG.normal(0, 1, n_out)
    a = ref.digits(RNG, 7) if n_in == 784 else RNG.uniform(0, 1, (7, n_in))
    layer = keras_dense(W, b, activation, dtype)
    expected = np.asarray(layer(a.astype(dtype)))
    np.testing.assert_allclose(sol["layer_forward"](a, W, b, activation), expected, **TOL[dtype])
    one = sol["layer_forward"](a[0], W, b, activation=activation)
    assert one.shape == (n_out,)
    np.testing.assert_allclose(one, expected[0], **TOL[dtype])


def test_keras_kernel_from_to_keras_kernel_computes_W_at_a_plus_b(sol):
    W, b = RNG.normal(size=(10, 16)), RNG.normal(size=10)
    layer = keras().layers.Dense(10, dtype="float64")
    layer.build((None, 16))
    layer.set_weights([sol["to_keras_kernel"](W), b])
    a = RNG.uniform(size=(4, 16))
    np.testing.assert_allclose(np.asarray(layer(a)), np.stack([W @ x + b for x in a]), rtol=1e-12)
    assert layer.get_weights()[0].shape == (16, 10)


def test_the_reference_dense_computes_a_hand_worked_layer():
    """Keras's ``test_dense_correctness`` pattern: weights set by hand, output known."""
    W = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.0]])
    layer = dense(W, np.array([0.5, 0.0]), "relu")
    np.testing.assert_array_equal(run(layer, np.ones((1, 3))), [[6.5, 0.0]])


@pytest.mark.parametrize("sizes", [[784, 16, 16, 10], [784, 30, 10], [3, 1], [5, 7, 7, 7, 2]])
def test_count_parameters_equals_keras_count_params(sol, sizes):
    k = keras()
    model = k.Sequential([k.Input((sizes[0],))] + [k.layers.Dense(n, activation="sigmoid") for n in sizes[1:]])
    assert sol["count_parameters"](sizes) == model.count_params()
    assert isinstance(sol["count_parameters"](tuple(sizes)), int)


def test_layer_forward_rejects_an_unknown_activation_by_name(sol):
    with pytest.raises(ValueError, match="'sigmoid' or 'relu'; received 'tanh'"):
        sol["layer_forward"](np.ones(3), np.ones((2, 3)), np.zeros(2), "tanh")
