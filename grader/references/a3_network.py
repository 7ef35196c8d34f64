"""A3 references: the network as a float64 ``keras.Sequential`` of sigmoid ``Dense`` layers.

Inputs are real MNIST test digits run through the shipped pre-trained 784-16-16-10 network (read
from its ``.keras`` file with Keras) and through random networks: 784-16-16-10, Nielsen's
784-30-10 (so a loop hard-wired to three layers fails) and small ones. Random weights are drawn
N(0, 1/n_in), so the neurons are not saturated and the brightest output is never a near tie.

``weights_from_keras`` gets a ``course.keraslike.KerasLikeModel`` holding exactly the arrays of a
real Keras model (``from_keras``), since the grader's sandbox has no Keras; its reference answer
is read off the real model's *behaviour* (``keras_layers.course_weights``), not its storage.
"""
from __future__ import annotations

import functools

import numpy as np

from course import pretrained
from course.data import load_mnist
from course.exercises.base import Case
from course.keraslike import KerasLikeModel
from grader.quiet import keras
from grader.references.a1_neuron import digits
from grader.references.keras_layers import course_weights, from_keras_like, run, sequential


@functools.lru_cache(maxsize=1)
def pretrained_keras():
    """The shipped pre-trained model, loaded from its ``.keras`` file by Keras (not compiled)."""
    return keras().models.load_model(pretrained.KERAS_PATH, compile=False, safe_mode=True)


def pretrained_network() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The pre-trained network's (weights, biases) in the course convention."""
    return course_weights(pretrained_keras())


def random_network(rng: np.random.Generator, sizes) -> tuple[list[np.ndarray], list[np.ndarray]]:
    weights = [rng.normal(0, 1 / np.sqrt(n_in), size=(n_out, n_in)) for n_in, n_out in zip(sizes, sizes[1:])]
    biases = [rng.normal(0, 1, size=n_out) for n_out in sizes[1:]]
    return weights, biases


def stand_in(weights, biases) -> KerasLikeModel:
    """The ``KerasLikeModel`` of a real float64 Keras Sequential built with these weights."""
    return KerasLikeModel.from_keras(sequential(weights, biases))


def labelled_digits(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random test digits as activations (n, 784) and their labels (n,) uint8, as loaded."""
    (_, _), (x_test, y_test) = load_mnist()
    pick = rng.choice(len(x_test), size=n, replace=False)
    return x_test[pick].reshape(n, 784) / 255.0, y_test[pick]


def inputs(rng: np.random.Generator, *, hidden: bool) -> dict[str, list[Case]]:
    trained = pretrained_network()
    net = random_network(rng, (784, 16, 16, 10))
    nielsen = random_network(rng, (784, 30, 10))
    x = digits(rng, 12)
    forward = [
        Case((x[0], *trained), label="a real digit, pre-trained network"),
        Case((x[1:9], *trained), label="a batch of 8 digits, pre-trained network"),
        Case((x[9], *net), label="a real digit, random 784-16-16-10 network"),
        Case((x[9:12], *nielsen), label="a batch of 3 digits, random 784-30-10 network"),
    ]
    models = [Case((KerasLikeModel.from_keras(pretrained_keras()),), label="the pre-trained model"),
              Case((stand_in(*net),), label="a random 784-16-16-10 model")]
    x_acc, y_acc = labelled_digits(rng, 200 if hidden else 50)
    scores = [Case((x_acc, y_acc, *trained), label=f"{len(y_acc)} real digits, pre-trained network"),
              Case((x_acc, y_acc, *net), label=f"{len(y_acc)} real digits, random network")]
    if hidden:
        tiny = random_network(rng, (5, 4, 3))
        deep = random_network(rng, (784, 32, 16, 16, 10))
        more = digits(rng, 20)
        forward += [
            Case((more, *trained), label="a batch of 20 digits, pre-trained network"),
            Case((more[:10], *net), label="a batch of 10 digits, random network"),
            Case((more[10:11], *net), label="a batch of one digit"),
            Case((rng.uniform(0, 1, 5), *tiny), label="a 5-4-3 network"),
            Case((more[11:15], *deep), label="a 4-layer network"),
        ]
        models += [Case((stand_in(*nielsen),), label="a random 784-30-10 model"),
                   Case((stand_in(*tiny),), label="a 5-4-3 model"),
                   Case((stand_in(*deep),), label="a 4-layer model")]
        scores += [Case((x_acc, y_acc, *nielsen), label=f"{len(y_acc)} real digits, random 784-30-10 network")]
    return {
        "feedforward": forward,
        "predict": list(forward),
        "weights_from_keras": models,
        "accuracy": scores,
    }


def _outputs(case: Case) -> np.ndarray:
    a, weights, biases = case.args
    batch = np.ndim(a) == 2
    out = run(sequential(weights, biases), a if batch else np.asarray(a)[None, :])  # (batch, 10)
    return out if batch else out[0]


def _predict(case: Case):
    guesses = np.argmax(_outputs(case), axis=-1)
    return guesses if guesses.ndim else int(guesses)


def _accuracy(case: Case) -> float:
    x, y, weights, biases = case.args
    model = sequential(weights, biases)
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return float(model.evaluate(np.asarray(x), np.asarray(y), verbose=0, return_dict=True)["accuracy"])


def _weights(case: Case) -> tuple[list[np.ndarray], list[np.ndarray]]:
    return course_weights(from_keras_like(case.args[0]))


ANSWERS = {
    "feedforward": _outputs,
    "predict": _predict,
    "weights_from_keras": _weights,
    "accuracy": _accuracy,
}
