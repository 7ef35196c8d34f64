"""Every named A2/A3 mistake is recognised on the public cases, without TensorFlow.

Each wrong function below makes one classic mistake; the self-check must fail it and name that
mistake's hint. (The grader's tests do the same end to end for the sample class's mistakes.)
"""
import numpy as np
import pytest

from course.selfcheck import run_check


def sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


ACT = {"sigmoid": sigmoid, "relu": lambda z: np.maximum(0.0, z)}


def layer(z_of, after=lambda out, b: out):
    def layer_forward(a, W, b, activation="sigmoid"):
        return after(ACT[activation](z_of(np.asarray(a), np.asarray(W), np.asarray(b))), b)
    return layer_forward


def bias_as_column(a, W, b, activation="sigmoid"):
    z = W @ a + b if a.ndim == 1 else a @ W.T + b[:, None]
    return ACT[activation](z)


def forward(a, weights, biases, last=True):
    for i, (W, b) in enumerate(zip(weights, biases)):
        z = a @ W.T + b
        a = sigmoid(z) if last or i < len(weights) - 1 else z
    return a


LAYER_MISTAKES = [
    ("kernel_transposed", layer(lambda a, W, b: a @ W + b)),
    ("bias_wrong_axis", bias_as_column),
    ("activation_before_bias", layer(lambda a, W, b: a @ W.T, after=lambda out, b: out + b)),
    ("batch_flattened", layer(lambda a, W, b: a @ W.T + b, after=lambda out, b: out.ravel())),
    ("returned_list", layer(lambda a, W, b: a @ W.T + b, after=lambda out, b: out.tolist())),
    ("forgot_activation", lambda a, W, b, activation="sigmoid": a @ W.T + b),
    ("ignored_activation", lambda a, W, b, activation="sigmoid": sigmoid(a @ W.T + b)),
    ("output_transposed", lambda a, W, b, activation="sigmoid": ACT[activation](W @ a.T + b[:, None])
     if a.ndim == 2 else ACT[activation](W @ a + b)),
]

OTHER_MISTAKES = [
    ("to_keras_kernel", "reshaped_not_transposed", lambda W: W.reshape(W.shape[1], W.shape[0])),
    ("to_keras_kernel", "returned_W", lambda W: W),
    ("count_parameters", "forgot_biases", lambda s: sum(m * n for m, n in zip(s, s[1:]))),
    ("count_parameters", "biases_for_inputs", lambda s: sum(m * n + n for m, n in zip(s, s[1:])) + s[0]),
    ("count_parameters", "counted_neurons", lambda s: sum(s)),
    ("feedforward", "returned_list", lambda a, ws, bs: [forward(a, ws[:k + 1], bs[:k + 1]) for k in range(len(ws))]),
    ("feedforward", "no_output_sigmoid", lambda a, ws, bs: forward(a, ws, bs, last=False)),
    ("feedforward", "forgot_biases", lambda a, ws, bs: forward(a, ws, [0 * b for b in bs])),
    ("feedforward", "stopped_early", lambda a, ws, bs: forward(a, ws[:-1], bs[:-1])),
    ("feedforward", "output_transposed", lambda a, ws, bs: forward(a, ws, bs).T),
    ("feedforward", "batch_flattened", lambda a, ws, bs: forward(a, ws, bs).ravel()),
    ("predict", "returned_activations", lambda a, ws, bs: forward(a, ws, bs)),
    ("predict", "returned_max", lambda a, ws, bs: np.max(forward(a, ws, bs), axis=-1)),
    ("predict", "argmax_flattened", lambda a, ws, bs: int(np.argmax(forward(a, ws, bs)))),
    ("predict", "argmax_wrong_axis", lambda a, ws, bs: np.argmax(forward(a, ws, bs), axis=0)
     if np.ndim(a) == 2 else int(np.argmax(forward(a, ws, bs)))),
    ("weights_from_keras", "kernels_not_transposed",
     lambda m: ([l.get_weights()[0] for l in m.layers], [l.get_weights()[1] for l in m.layers])),
    ("weights_from_keras", "kernels_reshaped",
     lambda m: ([k.reshape(k.shape[::-1]) for k, _ in (l.get_weights() for l in m.layers)],
                [l.get_weights()[1] for l in m.layers])),
    ("weights_from_keras", "swapped",
     lambda m: ([l.get_weights()[1] for l in m.layers], [l.get_weights()[0].T for l in m.layers])),
    ("weights_from_keras", "flat_list", lambda m: m.get_weights()),
    ("accuracy", "returned_count", lambda x, y, ws, bs: int(np.sum(np.argmax(forward(x, ws, bs), -1) == y))),
    ("accuracy", "percent", lambda x, y, ws, bs: 100 * float(np.mean(np.argmax(forward(x, ws, bs), -1) == y))),
    ("accuracy", "error_rate", lambda x, y, ws, bs: float(np.mean(np.argmax(forward(x, ws, bs), -1) != y))),
    ("accuracy", "returned_matches", lambda x, y, ws, bs: np.argmax(forward(x, ws, bs), -1) == y),
]


@pytest.mark.parametrize("exercise, hint, wrong",
                         [("layer_forward", h, fn) for h, fn in LAYER_MISTAKES] + OTHER_MISTAKES,
                         ids=lambda v: v if isinstance(v, str) else "")
def test_each_named_mistake_fails_and_gets_its_hint(exercise, hint, wrong):
    result = run_check(exercise, wrong)
    assert not result.passed
    assert result.hint is not None and result.hint.name == hint, result.summary()


@pytest.mark.parametrize("exercise, right", [
    ("layer_forward", layer(lambda a, W, b: a @ W.T + b)),
    ("feedforward", forward),
    ("to_keras_kernel", lambda W: W.T),
])
def test_the_hint_helpers_accept_a_right_answer(exercise, right):
    """The NumPy forward passes the hints use are themselves right (they pass the Keras answers)."""
    assert run_check(exercise, right).passed
