"""Tests for the Keras side of the sandbox: a fork server that preloaded Keras on its NumPy backend
(no TensorFlow), and NumPy-only children of a notebook that imports Keras."""
import os
import textwrap

import numpy as np
import pytest

from course import codec
from grader.grading.grade import make_plan
from grader.references.a4_digits import random_network
from grader.sandbox.client import Sandbox, limits_for

MODEL = textwrap.dedent("""
    import numpy as np
    import keras


    def build_model():
        model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(16, activation="sigmoid"),
                                  keras.layers.Dense(16, activation="sigmoid"), keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return model


    def uses_keras(z):
        return keras.activations.sigmoid(z)


    def plain(z):
        return np.tanh(z)


    def loaded():
        import sys
        return [keras.backend.backend(), sorted(m for m in ("tensorflow", "jax") if m in sys.modules)]
""")
WITH_TENSORFLOW = textwrap.dedent("""
    import numpy as np
    import tensorflow as tf


    def with_tensorflow(z):
        return np.asarray(tf.keras.layers.Dense(2, kernel_initializer="ones")(np.full((1, 3), z)))
""")


@pytest.fixture(scope="module")
def submission(tmp_path_factory):
    path = tmp_path_factory.mktemp("sub") / "a4_digits.py"
    path.write_text(MODEL)
    os.chmod(path.parent, 0o755)
    return path


def build_request(path, n_cases=2):
    weights, biases = random_network(np.random.default_rng(0), (784, 16, 16, 10))
    x = np.random.default_rng(1).uniform(0, 1, (3, 784))
    return {"function": "build_model", "cases": [{"args": (weights, biases, x)}] * n_cases, "inject": {},
            "timeout": 60.0, "submission": str(path),
            "limits": limits_for(("keras",)), "adapter": "course.models:built_model"}


def test_children_of_a_keras_server_run_keras_again_and_again(submission):
    """Each child builds, compiles and runs a real Keras model; the server stays single-threaded."""
    with Sandbox(worker=7, preload=("keras",)) as box:
        for _ in range(4):
            reply = box.run(build_request(submission))
            assert reply["status"] == "ok", reply
            outcomes = reply["result"]["outcomes"]
            assert [o["error"] for o in outcomes] == [None, None]
            info, outputs = outcomes[0]["value"]["model"], outcomes[0]["value"]["outputs"]
            assert info["params"] == 13002 and info["compiled"] and outputs.shape == (3, 10)
            np.testing.assert_allclose(outputs.sum(axis=1), 1.0, rtol=1e-5)  # softmax rows
        assert len(os.listdir(f"/proc/{box.process.pid}/task")) == 1, "the server must stay single-threaded"


def test_a_keras_server_runs_keras_on_numpy_without_tensorflow_unless_a_submission_imports_it(submission, tmp_path):
    with_tf = tmp_path / "a4_digits.py"
    with_tf.write_text(WITH_TENSORFLOW)
    os.chmod(tmp_path, 0o755)
    with Sandbox(worker=7, preload=("keras",)) as box:
        request = {"function": "loaded", "cases": [{"args": ()}], "inject": {}, "timeout": 30.0,
                   "submission": str(submission), "limits": limits_for(("keras",))}
        reply = box.run(request)
        assert reply["status"] == "ok", reply
        # the NumPy backend imports a few JAX helpers, never TensorFlow
        assert reply["result"]["outcomes"][0]["value"] == ["numpy", ["jax"]], reply["result"]
        # a submission that imports TensorFlow gets it (from a copy of the server that imported it)
        reply = box.run({**request, "function": "with_tensorflow", "cases": [{"args": (0.5,)}], "timeout": 60.0,
                         "submission": str(with_tf)})
        assert reply["result"]["outcomes"][0]["error"] is None, reply["result"]
        np.testing.assert_allclose(reply["result"]["outcomes"][0]["value"], [[1.5, 1.5]])


def test_numpy_only_children_load_a_notebook_that_imports_keras_but_cannot_use_it(submission):
    with Sandbox(worker=8) as box:
        for function, error in (("uses_keras", "keras.activations can't be imported while grading"), ("plain", None)):
            reply = box.run({"function": function, "cases": [{"args": (np.zeros(3),)}], "inject": {},
                             "timeout": 10.0, "submission": str(submission)})
            assert reply["status"] == "ok", reply
            assert reply["result"]["notes"] == []  # `import keras` itself is fine
            got = reply["result"]["outcomes"][0]["error"]
            assert (error in got) if error else got is None, got


def test_without_permission_a_child_cannot_import_tensorflow(submission, tmp_path):
    sneaky = tmp_path / "a4_digits.py"
    sneaky.write_text("def f(z):\n    import tensorflow.math\n    return 0.0\n")
    os.chmod(tmp_path, 0o755)
    with Sandbox(worker=9) as box:
        reply = box.run({"function": "f", "cases": [{"args": (0.0,)}], "inject": {}, "timeout": 10.0,
                         "submission": str(sneaky)})
    assert "can't be imported while grading" in reply["result"]["outcomes"][0]["error"]


def test_requests_carry_inputs_only_never_answers():
    plan = make_plan("a4_digits", seed=3)
    for name, request in plan.requests.items():
        encoded = codec.encode(request)  # what travels to the sandbox
        for case in request["cases"]:
            assert set(case) == {"args", "kwargs", "label", "hidden"}, name
        assert len(encoded) < 64 * 2**20
    assert plan.requests["digits.keras"]["artifact"] == "digits.keras"
    assert plan.requests["digits.keras"]["cases"] == [{"args": (), "kwargs": {}, "label": "the 10,000 MNIST test digits",
                                                       "hidden": False}]
    # Keras is importable only in the children of a server that preloaded it: what an exercise needs;
    # the model file is read without Keras (course.kerasfile)
    assert plan.requests["build_model"]["needs"] == ["keras"]
    assert all("needs" not in plan.requests[name] for name in ("backprop", "train", "digits.keras"))
    # the student's train shares its child (and its CPU limit) with nothing but backprop; the file
    # is read by a child of its own that loads no submission code
    assert {g.name: [f["name"] for f in g.functions] for g in plan.groups} == {
        "": ["backprop", "train"], ":file": ["digits.keras"], "keras": ["build_model"]}
