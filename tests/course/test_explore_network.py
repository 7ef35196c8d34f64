"""Tests for ``course.explore.network``: the explored network computes what Keras computes."""
import numpy as np
import pytest

from course import pretrained as shipped
from course.explore import Network, load_weights, save_weights
from course.explore.network import from_keras_file, from_model, pretrained
from grader.quiet import keras

def random_network(activations, sizes=(784, 16, 16, 10), seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0, 1 / np.sqrt(n_in), size=(n_out, n_in)) for n_in, n_out in zip(sizes, sizes[1:])]
    biases = [rng.normal(0, 1, size=n_out) for n_out in sizes[1:]]
    return weights, biases, list(activations)


def keras_model(weights, biases, activations):
    """A real keras.Sequential holding the same weights."""
    k = keras()
    model = k.Sequential([k.Input(shape=(784,))] + [k.layers.Dense(W.shape[0], activation=a)
                                                     for W, a in zip(weights, activations)])
    for layer, W, b in zip(model.layers, weights, biases):
        layer.set_weights([W.T, b])  # Keras kernel = W.T
    return model


def keras_layers(weights, biases, activations, x):
    """Every layer's outputs from a real keras.Sequential holding the same weights."""
    model = keras_model(weights, biases, activations)
    probe = keras().Model(model.inputs[0], [layer.output for layer in model.layers])
    return [np.asarray(o, dtype=np.float64) for o in probe(x.astype(np.float32))]


@pytest.mark.parametrize("activations", [("sigmoid",) * 3, ("sigmoid", "sigmoid", "softmax"),
                                         ("relu", "relu", "softmax"), ("relu", "tanh", "linear")])
def test_every_layer_equals_keras(activations):
    weights, biases, activations = random_network(activations)
    x = np.random.default_rng(1).random((64, 784))
    ours = Network.build(weights, biases, activations).forward(x)
    theirs = keras_layers(weights, biases, activations, x)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, atol=2e-6)  # Keras computes in float32


def test_the_default_network_is_the_pretrained_one():
    network = pretrained()
    assert network.sizes == [784, 16, 16, 10] and network.activations == ("sigmoid",) * 3
    for W, layer in zip(network.weights, shipped.load().layers):
        np.testing.assert_array_equal(W, layer.get_weights()[0].T)


def test_a_real_keras_model_is_read_by_its_layers():
    weights, biases, activations = random_network(("relu", "sigmoid", "softmax"))
    model = keras_model(weights, biases, activations)
    network = from_model(model)
    assert network.activations == tuple(activations)
    for W, ours in zip(weights, network.weights):
        np.testing.assert_allclose(ours, W, atol=1e-7)


def test_saved_weights_come_back_the_same(tmp_path):
    weights, biases, activations = random_network(("relu", "softmax"), sizes=(784, 32, 10))
    path = save_weights(tmp_path / "mine.npz", weights, biases, activations)
    with np.load(path, allow_pickle=False) as f:  # the documented layout, readable without pickle
        assert sorted(f.files) == ["activations", "biases_0", "biases_1", "weights_0", "weights_1"]
    network = load_weights(path)
    assert network.sizes == [784, 32, 10] and network.activations == ("relu", "softmax")
    for a, b in zip(network.weights + network.biases, weights + biases):
        np.testing.assert_array_equal(a, b)


def test_the_shipped_keras_layout_npz_is_read_too():
    network = load_weights(shipped.NPZ_PATH)
    np.testing.assert_array_equal(network.weights[1], pretrained().weights[1])


@pytest.mark.parametrize("change, message", [
    (lambda w, b: (w[:2], b), "one bias vector per weight matrix; received 2 weight matrices and 3"),
    (lambda w, b: ([w[0].T] + w[1:], b), r"weights\[0\] should have shape \(n_out, 784\); received shape "
                                         r"\(784, 16\) \(a Keras kernel\? the course's W is kernel.T\)"),
    (lambda w, b: (w, [b[0][:3]] + b[1:]), r"biases\[0\] should have shape \(16,\); received shape \(3,\)"),
    (lambda w, b: (w[:2], b[:2]), "the last layer should have 10 neurons, one per digit; it has 16"),
    (lambda w, b: ([w[0] * np.nan] + w[1:], b), "NaN or infinity"),
])
def test_a_malformed_network_is_refused_saying_what_is_wrong(change, message):
    weights, biases, _ = random_network(("sigmoid",) * 3)
    with pytest.raises(ValueError, match=message):
        Network.build(*change(weights, biases))


def test_an_unknown_activation_is_refused():
    weights, biases, _ = random_network(("sigmoid",) * 3)
    with pytest.raises(ValueError, match="activation 2 should be one of sigmoid, relu, softmax, linear, tanh; received 'swish'"):
        Network.build(weights, biases, ["sigmoid", "sigmoid", "swish"])


def test_an_npz_of_another_layout_is_refused_listing_what_it_holds(tmp_path):
    np.savez(tmp_path / "other.npz", W1=np.zeros((16, 784)))
    with pytest.raises(ValueError, match="should hold weights_0, biases_0, .*; it holds W1"):
        load_weights(tmp_path / "other.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="not a readable .npz"):
        load_weights(tmp_path / "text.npz")


def test_a_saved_keras_file_is_read_without_tensorflow_and_computes_what_keras_computes(tmp_path):
    weights, biases, activations = random_network(("sigmoid", "sigmoid", "softmax"))
    model = keras_model(weights, biases, activations)
    model.save(tmp_path / "digits.keras")
    network = from_keras_file(tmp_path / "digits.keras")
    assert network.activations == tuple(activations)
    x = np.random.default_rng(2).random((16, 784))
    np.testing.assert_allclose(network.forward(x)[-1], np.asarray(model(x.astype(np.float32))), atol=2e-6)


def test_a_keras_file_that_is_not_a_model_is_refused(tmp_path):
    (tmp_path / "digits.keras").write_bytes(b"PK not really")
    with pytest.raises(ValueError):
        from_keras_file(tmp_path / "digits.keras")
