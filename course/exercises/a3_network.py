"""A3 "the 784-16-16-10 network": the graded functions, their points and the mistakes we can name.

The correct answers come from a Keras ``Sequential`` with the same weights
(``grader.references.a3_network``); the hints below only recognise *wrong* answers, by
recomputing each classic mistake with NumPy. A network is given as two lists, ``weights[l]`` of
shape ``(n_out, n_in)`` and ``biases[l]`` of shape ``(n_out,)``, sigmoid neurons in every layer.
"""
from __future__ import annotations

import numpy as np

from course.exercises import nielsen
from course.exercises.base import Assignment, Case, Exercise, Hint
from course.exercises.numeric import close as _close
from course.exercises.numeric import sigmoid as _sigmoid


def forward(a, weights, biases, *, layers: int | None = None, last_activation: bool = True,
            use_biases: bool = True) -> np.ndarray:
    """The network's output in NumPy, or a mistaken variant of it (for recognising mistakes).

    Args:
        a: (n_in,) or (batch, n_in) activations.
        weights, biases: lists of (n_out, n_in) and (n_out,) arrays.
        layers: how many layers to apply (default: all).
        last_activation: whether the last layer applied uses the sigmoid.
        use_biases: whether the biases are added.
    """
    a = np.asarray(a, dtype=np.float64)
    pairs = list(zip(weights, biases))[:layers]
    for i, (W, b) in enumerate(pairs):
        z = a @ np.asarray(W, dtype=np.float64).T + (np.asarray(b, dtype=np.float64) if use_biases else 0.0)
        a = z if i == len(pairs) - 1 and not last_activation else _sigmoid(z)
    return a


def _network(case: Case):
    """(a, weights, biases) of a feedforward/predict case."""
    return case.args[0], case.args[1], case.args[2]


def _stopped_early(case, got) -> bool:
    a, weights, biases = _network(case)
    return any(_close(got, forward(a, weights, biases, layers=k)) for k in range(1, len(weights)))


def _is_batch(case) -> bool:
    return np.ndim(case.args[0]) == 2


def _returned_activations(case, got) -> bool:
    got = np.asarray(got) if not isinstance(got, list) else None
    return (got is not None and got.dtype.kind == "f" and got.shape[:-1] == np.shape(case.expected)
            and got.shape[-1] > 1 and np.array_equal(np.argmax(got, axis=-1), case.expected))


def _kernels(model) -> list[np.ndarray]:
    return [layer.get_weights()[0] for layer in model.layers]


def _model_biases(model) -> list[np.ndarray]:
    return [layer.get_weights()[1] for layer in model.layers]


def _pair_close(got, weights, biases) -> bool:
    return (isinstance(got, (list, tuple)) and len(got) == 2 and isinstance(got[0], (list, tuple))
            and isinstance(got[1], (list, tuple)) and len(got[0]) == len(weights) == len(got[1])
            and all(_close(g, w) for g, w in zip(got[0], weights))
            and all(_close(g, b) for g, b in zip(got[1], biases)))


def _flat_list(case, got) -> bool:
    model = case.args[0]
    return isinstance(got, (list, tuple)) and len(got) == 2 * len(model.layers) and len(model.layers) > 1


def _accuracy_hint(value):
    def matches(case, got):
        return np.ndim(got) == 0 and not isinstance(got, (list, str)) and \
            _close(float(got), value(float(case.expected), len(case.args[1])))
    return matches


def _argmax_without_axis(case, got) -> bool:
    x, y = case.args[0], np.asarray(case.args[1])
    flat = np.argmax(forward(x, case.args[2], case.args[3]))  # one index into all batch * 10 outputs
    return np.ndim(got) == 0 and not isinstance(got, str) and _close(float(got), float(np.mean(flat == y)))


ASSIGNMENT = Assignment(
    id="a3_network",
    title="The 784-16-16-10 network",
    exercises=(
        Exercise("feedforward", points=3, hints=(
            nielsen.batch_of_rows(),
            nielsen.looped_over_one_example(nielsen.LAYER_LINE),
            nielsen.looped_over_batch(nielsen.LAYER_LINE),
            nielsen.column_vector(),
            nielsen.column_biases(),
            Hint("returned_list", "you returned a list (every layer's activations?): feedforward returns "
                 "only the output layer's activations, one array.", lambda c, got: isinstance(got, list)),
            Hint("no_output_sigmoid", "the output layer has no sigmoid: every layer of this network, the "
                 "last one included, is sigmoid(W @ a + b).",
                 lambda c, got: _close(got, forward(*_network(c), last_activation=False))),
            Hint("forgot_biases", "the biases are missing: each layer is sigmoid(W @ a + b).",
                 lambda c, got: _close(got, forward(*_network(c), use_biases=False))),
            Hint("stopped_early", "these are the activations of a hidden layer: feed each layer's "
                 "activations into the next, through every (W, b) in zip(weights, biases).", _stopped_early),
            Hint("output_transposed", "for a batch, return one row per example, shape (batch, 10), not "
                 "(10, batch): a @ W.T + b keeps the examples as rows.",
                 lambda c, got: _is_batch(c) and _close(got, forward(*_network(c)).T)),
            Hint("batch_flattened", "for a batch of shape (batch, 784), return one row of outputs per "
                 "example: don't flatten or reduce away the batch axis.",
                 lambda c, got: _is_batch(c) and np.ndim(got) == 1 and not isinstance(got, list)),
        )),
        Exercise("predict", points=2, calls=("feedforward",), hints=(
            nielsen.batch_of_rows(where=" in feedforward"),
            nielsen.looped_over_one_example(nielsen.PREDICT_LINE),
            nielsen.looped_over_batch(nielsen.PREDICT_LINE),
            Hint("returned_activations", "these are the output activations; the guess is the digit whose "
                 "output neuron is brightest, its index: np.argmax(..., axis=-1).", _returned_activations),
            Hint("returned_max", "np.max gives the brightest activation itself; the guess is *which* "
                 "neuron it is: np.argmax.",
                 lambda c, got: _close(got, np.max(forward(*_network(c)), axis=-1))),
            Hint("argmax_flattened", "Nielsen's network.py takes np.argmax of one example's output "
                 "column; on a batch of rows, np.argmax without an axis flattens the whole batch into one "
                 f"list of numbers and returns a single index. Write {nielsen.PREDICT_LINE}: one guess per "
                 "row (axis=-1 is each example's 10 outputs).",
                 lambda c, got: _is_batch(c) and np.ndim(got) == 0),
            Hint("argmax_wrong_axis", "argmax over axis 0 compares the examples with each other; each "
                 "example's guess is the argmax over its 10 outputs: axis=-1 (or axis=1).",
                 lambda c, got: _is_batch(c) and _close(got, np.argmax(forward(*_network(c)), axis=0))),
        )),
        Exercise("weights_from_keras", points=2, hints=(
            Hint("kernels_not_transposed", "these are Keras's kernels, shape (n_in, n_out); the course's W "
                 "is (n_out, n_in): transpose each kernel, kernel.T.",
                 lambda c, got: _pair_close(got, _kernels(c.args[0]), _model_biases(c.args[0]))),
            Hint("kernels_reshaped", "reshape keeps the numbers in memory order, so it scrambles the "
                 "weights: the course's W is the kernel's transpose, kernel.T.",
                 lambda c, got: _pair_close(got, [k.reshape(k.shape[::-1]) for k in _kernels(c.args[0])],
                                            _model_biases(c.args[0]))),
            Hint("swapped", "return the weights first, then the biases: (weights, biases).",
                 lambda c, got: _pair_close(got[::-1] if isinstance(got, (list, tuple)) else got,
                                            [k.T for k in _kernels(c.args[0])], _model_biases(c.args[0]))),
            Hint("flat_list", "model.get_weights() is one flat list [kernel, bias, kernel, bias, ...]; "
                 "return two lists, (weights, biases), with each kernel transposed.", _flat_list),
        )),
        Exercise("accuracy", points=2, calls=("feedforward", "predict"), hints=(
            nielsen.batch_of_rows(where=" in feedforward"),
            Hint("returned_count", "this is the number of correct guesses (what Nielsen's network.py's "
                 "evaluate returns, printed as \"9000 / 10000\"); the accuracy is the fraction of them, "
                 "between 0 and 1: divide by len(y), or use np.mean.",
                 _accuracy_hint(lambda acc, n: acc * n)),
            Hint("percent", "the accuracy is a fraction between 0 and 1, not a percentage.",
                 _accuracy_hint(lambda acc, n: 100 * acc)),
            Hint("error_rate", "this is the fraction of *wrong* guesses: the accuracy counts the right ones.",
                 _accuracy_hint(lambda acc, n: 1 - acc)),
            Hint("argmax_without_axis", "np.argmax without an axis flattens the batch's outputs and gives "
                 "one index for all of them (Nielsen's evaluate takes it of one example at a time): the "
                 f"guesses are {nielsen.PREDICT_LINE.replace('a, ', 'x, ')}, or predict(x, weights, biases).",
                 _argmax_without_axis),
            Hint("returned_matches", "you returned, for each digit, whether the guess was right; the "
                 "accuracy is the fraction of them: np.mean(...).",
                 lambda c, got: np.ndim(got) == 1 and np.shape(got) == np.shape(c.args[1])),
        )),
    ),
)
