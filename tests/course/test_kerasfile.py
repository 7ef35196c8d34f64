"""Tests for ``course.kerasfile``: Keras's own predictions, read without Keras; hostile files refused.

Keras (TensorFlow backend) saves and loads every file here; the reader must agree with its
``model.predict`` on real digits for every architecture it accepts, and refuse, with a reason,
every file Keras's ``safe_mode`` refuses and the hostile files of ``grader.authoring.sample_models``.
"""
import sys

import numpy as np
import pytest

from course import kerasfile, models
from course.data import load_mnist
from course.kerasfile import KerasFileError, load_network
from grader.authoring import sample_models
from grader.quiet import keras

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # inside Keras


@pytest.fixture(scope="module")
def digits():
    (_, _), (x_test, _) = load_mnist()
    return x_test.reshape(-1, 784) / 255.0  # (10000, 784), as the grader feeds the model


@pytest.fixture(scope="module")
def reference():
    return sample_models.reference_file()  # the reference model, trained as its notebook trains it (cached)


def _agrees_with_keras(path, x):
    model = keras().saving.load_model(path, safe_mode=True, compile=False)
    want = model.predict(x, verbose=0, batch_size=1000)
    network = load_network(path)
    got = network.feedforward(x)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-5)
    assert np.array_equal(network.predict(x), np.argmax(want, axis=1))
    described = network.describe()
    assert {**described, "compiled": None} == {**models.describe(model), "compiled": None}
    return network


def test_the_reference_model_predicts_the_10000_test_digits_exactly_as_keras_does(reference, digits):
    network = _agrees_with_keras(reference, digits)
    assert network.sizes == [784, 16, 16, 10] and network.activations == ["sigmoid", "sigmoid", "softmax"]
    assert network.n_parameters == 13002 and network.compiled
    assert [W.shape for W in network.weights] == [(16, 784), (16, 16), (10, 16)]  # course convention (n_out, n_in)
    assert np.array_equal(load_network(reference.read_bytes()).weights[0], network.weights[0])  # bytes work too


def _build(k, kind):
    L = k.layers
    if kind == "relu-32":
        return [L.Dense(32, activation="relu"), L.Dense(10, activation="softmax")]
    if kind == "tanh-linear-64-32-16":
        return [L.Dense(64, activation="tanh"), L.Dense(32), L.Dense(16, activation="sigmoid"), L.Dense(10)]
    if kind == "dropout-and-activation-layers":
        return [L.Dense(16, activation="sigmoid", name="hidden"), L.Dropout(0.3), L.Dense(16), L.Activation("sigmoid"),
                L.Dense(10), L.Activation("softmax")]
    if kind == "no-biases":
        return [L.Dense(16, activation="sigmoid", use_bias=False), L.Dense(10, activation="softmax", use_bias=False)]
    if kind == "float64":
        return [L.Dense(16, activation="sigmoid", dtype="float64"), L.Dense(10, activation="softmax", dtype="float64")]
    raise KeyError(kind)


@pytest.mark.parametrize("kind", ["relu-32", "tanh-linear-64-32-16", "dropout-and-activation-layers", "no-biases",
                                  "float64", "built-without-input", "not-compiled"])
def test_every_accepted_architecture_predicts_as_keras_does(kind, digits, tmp_path):
    k = keras()
    k.utils.set_random_seed(0)
    if kind == "built-without-input":
        model = k.Sequential([k.layers.Dense(16, activation="sigmoid"), k.layers.Dense(10, activation="softmax")])
        model.build((None, 784))
    else:
        layers = _build(k, kind) if kind != "not-compiled" else _build(k, "relu-32")
        model = k.Sequential([k.Input(shape=(784,)), *layers])
    if kind != "not-compiled":
        model.compile(optimizer=k.optimizers.SGD(3.0), loss="mse", metrics=["accuracy"])
    rng = np.random.default_rng(1)  # weights of a trained network's scale, so the outputs are far from uniform
    model.set_weights([rng.normal(0, 2 / np.sqrt(w.shape[0]), w.shape) for w in model.get_weights()])
    model.save(tmp_path / "m.keras")
    network = _agrees_with_keras(tmp_path / "m.keras", digits[:2000])
    assert network.compiled == (kind != "not-compiled")


HOSTILE_REASONS = {
    "extra_member": "should hold exactly",
    "zip_bomb": "expands",
    "not_a_zip": "not a .keras file",
    "malformed_hdf5": "not a readable HDF5 file",
    "custom_object": "only Keras's own layers",
    "custom_activation": "uses the activation {'module': 'builtins'",
    "functional_model": "'Functional' model",
    "unknown_setting": "can't vouch for",
    "mixed_precision": "mixed_float16",
    "nan_weights": "NaN or infinite",
    "integer_weights": "int32",
    "shape_mismatch": "the configuration says (16, 16)",
    "external_link": "ExternalLink",
    "external_storage": "outside the file",
    "extra_weights": "layers the configuration doesn't have",
}


@pytest.fixture(scope="module")
def hostile(reference, tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    files = {kind: sample_models.hostile_file(kind, reference, root / kind) for kind in sample_models.HOSTILE_FILES}
    files["lambda_layer"] = sample_models.with_lambda(root / "lambda_layer", root / "lambda-ran")
    files["flatten_layer"] = sample_models.with_layer(root / "flatten_layer")
    return root, files


def test_hostile_reasons_cover_every_hostile_file():
    assert set(HOSTILE_REASONS) == set(sample_models.HOSTILE_FILES)


@pytest.mark.parametrize("kind, words", [*HOSTILE_REASONS.items(), ("lambda_layer", "a Lambda layer"),
                                         ("flatten_layer", "a Flatten layer")])
def test_a_hostile_file_is_refused_with_a_reason(hostile, kind, words):
    root, files = hostile
    with pytest.raises(KerasFileError, match=None) as refused:
        load_network(files[kind])
    assert words in str(refused.value)
    assert not (root / "lambda-ran").exists()


def test_every_file_keras_refuses_in_safe_mode_is_refused_here_too(hostile):
    _, files = hostile
    refused_by_keras = []
    for kind, path in files.items():
        if kind in ("external_link", "external_storage"):
            continue  # h5py would read another file of this machine: never hand those to Keras
        try:
            keras().saving.load_model(path, safe_mode=True, compile=False)
        except Exception:
            refused_by_keras.append(kind)
    assert {"lambda_layer", "custom_object", "not_a_zip", "malformed_hdf5"} <= set(refused_by_keras), refused_by_keras
    for kind in refused_by_keras:
        with pytest.raises(KerasFileError):
            load_network(files[kind])


def test_members_are_size_checked_before_reading(reference, tmp_path):
    path = sample_models.rezip(reference, tmp_path / "big.keras", replace={"config.json": b" " * (2**20 + 1)})
    with pytest.raises(KerasFileError, match="config.json is 1,048,577 bytes uncompressed"):
        load_network(path)


def test_without_h5py_the_message_names_what_to_install(reference, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py now raises ImportError
    with pytest.raises(KerasFileError, match="pip install h5py"):
        load_network(reference)


def test_a_wrong_input_size_is_a_clear_error(reference):
    with pytest.raises(ValueError, match=r"should have shape \(784,\) or \(batch, 784\); received shape \(3, 28\)"):
        load_network(reference).feedforward(np.zeros((3, 28)))


def test_softmax_and_sigmoid_do_not_overflow():
    z = np.array([[1e4, -1e4, 0.0]])
    with np.errstate(over="raise", invalid="raise"):
        np.testing.assert_allclose(kerasfile.activate("softmax", z), [[1.0, 0.0, 0.0]])
        np.testing.assert_allclose(kerasfile.activate("sigmoid", z), [[1.0, 0.0, 0.5]])


def test_compile_settings_are_never_read_so_a_custom_loss_is_no_reason_to_refuse(reference, tmp_path):
    """Keras, loading with compile=False as the grader did, ignores them too."""
    def custom_loss(config):
        config["compile_config"]["loss"] = {"module": "builtins", "class_name": "function", "config": "my_loss",
                                            "registered_name": "function"}

    path = sample_models.rezip(reference, tmp_path / "m.keras",
                                replace={"config.json": sample_models.edited_config(reference, custom_loss)})
    assert load_network(path).compiled
    keras().saving.load_model(path, safe_mode=True, compile=False)


def test_deeply_nested_settings_are_refused_not_a_crash(reference, tmp_path):
    def nest(config):
        value = None
        for _ in range(200):
            value = {"module": "keras.initializers", "class_name": "Zeros", "config": {"inner": value}}
        sample_models.dense_configs(config)[0]["config"]["kernel_initializer"] = value

    path = sample_models.rezip(reference, tmp_path / "m.keras",
                                replace={"config.json": sample_models.edited_config(reference, nest)})
    with pytest.raises(KerasFileError, match="nests objects deeper"):
        load_network(path)
