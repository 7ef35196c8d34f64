"""Do the A3 reference solution and a Keras ``Sequential`` with the same weights agree?

On random networks and real digits, and on the shipped pre-trained model read from its
``.keras`` file. The Keras models here are built directly from the Keras API (kernel ``W.T``),
independently of the grader's reference helpers, which are checked against them too.
"""
import numpy as np
import pytest

from course import pretrained
from course.keraslike import KerasLikeModel
from grader import references
from grader.quiet import keras
from grader.references import a3_network as ref
from grader.references.keras_layers import course_weights, sequential

RNG = np.random.default_rng(12)
TOL = {"float64": dict(rtol=1e-10, atol=1e-12), "float32": dict(rtol=1e-5, atol=1e-6)}


@pytest.fixture(scope="module")
def sol(solution):
    return solution("a3_network")


@pytest.fixture(scope="module")
def trained():
    return keras().models.load_model(pretrained.KERAS_PATH, compile=False)


def keras_network(weights, biases, dtype):
    k = keras()
    model = k.Sequential([k.Input((weights[0].shape[1],), dtype=dtype)] + [
        k.layers.Dense(W.shape[0], activation="sigmoid", dtype=dtype) for W in weights])
    model.set_weights([x.astype(dtype) for W, b in zip(weights, biases) for x in (W.T, b)])
    return model


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("sizes", [(784, 16, 16, 10), (784, 30, 10), (784, 10), (5, 4, 3, 2)])
def test_feedforward_and_predict_match_a_keras_sequential(sol, dtype, sizes):
    weights, biases = ref.random_network(RNG, sizes)
    x = ref.digits(RNG, 9) if sizes[0] == 784 else RNG.uniform(size=(9, sizes[0]))
    outputs = np.asarray(keras_network(weights, biases, dtype)(x.astype(dtype)))
    np.testing.assert_allclose(sol["feedforward"](x, weights, biases), outputs, **TOL[dtype])
    np.testing.assert_allclose(sol["feedforward"](x[0], weights, biases), outputs[0], **TOL[dtype])
    np.testing.assert_array_equal(sol["predict"](x, weights, biases), np.argmax(outputs, axis=-1))
    assert sol["predict"](x[0], weights, biases) == int(np.argmax(outputs[0]))


def test_weights_from_keras_reads_a_real_model_and_its_stand_in_alike(sol, trained):
    weights, biases = sol["weights_from_keras"](trained)
    assert [W.shape for W in weights] == [(16, 784), (16, 16), (10, 16)]
    again = sol["weights_from_keras"](KerasLikeModel.from_keras(trained))
    shipped = sol["weights_from_keras"](pretrained.load())
    for one, two, three in zip(weights + biases, again[0] + again[1], shipped[0] + shipped[1]):
        np.testing.assert_array_equal(one, two)
        np.testing.assert_array_equal(one, three)
    x = ref.digits(RNG, 50)
    np.testing.assert_allclose(sol["feedforward"](x, weights, biases), np.asarray(trained(x.astype("float32"))),
                               rtol=1e-5, atol=1e-6)


def test_accuracy_equals_keras_evaluate_on_real_test_digits(sol, trained):
    x, y = ref.labelled_digits(RNG, 1000)
    trained.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    keras_accuracy = trained.evaluate(x, y, verbose=0, return_dict=True)["accuracy"]
    ours = sol["accuracy"](x, y, *sol["weights_from_keras"](trained))
    assert isinstance(ours, float) and ours == pytest.approx(keras_accuracy, abs=1e-6)


def test_the_reference_reads_course_weights_off_a_keras_models_behaviour():
    weights, biases = ref.random_network(RNG, (784, 16, 16, 10))
    got_w, got_b = course_weights(sequential(weights, biases))
    for got, want in zip(got_w + got_b, weights + biases):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_hidden_inputs_depend_on_the_seed_and_include_more_than_three_layers():
    def feedforward_cases(seed):  # the inputs only: their Keras answers are tested above
        return ref.inputs(np.random.default_rng([seed, references.PUBLIC_SEED]), hidden=True)["feedforward"]

    one, again, other = feedforward_cases(1), feedforward_cases(1), feedforward_cases(2)
    assert np.array_equal(one[2].args[1][0], again[2].args[1][0])
    assert not np.array_equal(one[2].args[1][0], other[2].args[1][0])
    assert {len(c.args[1]) for c in one} >= {2, 3, 4}
