"""A2 "a dense layer": the graded functions, their points and the mistakes we can name.

The correct answers come from Keras (``grader.references.a2_layer``); the hints below only
recognise *wrong* answers, by recomputing each classic mistake with NumPy. The course writes a
layer's weights as ``W`` of shape ``(n_out, n_in)`` and a batch as rows ``(batch, n_in)``, so the
right answer is ``activation(a @ W.T + b)``: (n_out,) for one example, (batch, n_out) for a batch.
"""
from __future__ import annotations

import numpy as np

from course.exercises import nielsen
from course.exercises.base import Assignment, Case, Exercise, Hint
from course.exercises.numeric import close as _close
from course.exercises.numeric import sigmoid as _sigmoid
from course.exercises.shapes import shape_error


LAYER_LINE = "return sigmoid(a @ W.T + b) (or relu)"
"""the line to write, for one example (n_in,) and a batch of rows (batch, n_in) alike"""
ACTIVATIONS = {"sigmoid": _sigmoid, "relu": lambda z: np.maximum(0.0, z)}


def _layer(case: Case):
    """(a, W, b, activation function) of a ``layer_forward`` case, as float64 arrays."""
    a, W, b = (np.asarray(x, dtype=np.float64) for x in case.args[:3])
    name = case.kwargs.get("activation", case.args[3] if len(case.args) > 3 else "sigmoid")
    return a, W, b, ACTIVATIONS[name]


def _layer_hint(wrong):
    """A hint matcher: does ``got`` equal ``wrong(a, W, b, act)`` (None where it can't apply)?"""
    def matches(case, got):
        value = wrong(*_layer(case))
        return value is not None and _close(got, value)
    return matches


def _batch_flattened(case, got) -> bool:
    a, W, b, act = _layer(case)
    return a.ndim == 2 and np.ndim(got) == 1 and not isinstance(got, list)


def _always_sigmoid(a, W, b, act):
    return _sigmoid(a @ W.T + b) if act is not _sigmoid else None


def _bias_on_batch_axis(a, W, b, act):
    # (W @ a.T + b).T when batch == n_out: each *example* gets one neuron's bias
    return act(a @ W.T + b[:, None]) if a.ndim == 2 and a.shape[0] == b.shape[0] else None


def _column_bias(a, W, b, act):
    # Nielsen's (n, 1) bias on a 1-D example: (n_out,) + (n_out, 1) broadcasts to (n_out, n_out)
    return act(W @ a + b[:, None]) if a.ndim == 1 else None


def _bias_column_on_batch(case: Case, error: str) -> bool:
    # b[:, None], shape (n_out, 1), added to a (batch, n_out) batch of rows: NumPy refuses unless batch == n_out
    err = shape_error(error)
    n_out = np.shape(case.args[2])[0]
    return np.ndim(case.args[0]) == 2 and err is not None and err.kind == "broadcast" and (n_out, 1) in err.shapes


def _output_transposed(a, W, b, act):
    return act(a @ W.T + b).T if a.ndim == 2 else None


def _kernel_transposed(a, W, b, act):
    return act(a @ W + b) if W.shape[0] == W.shape[1] else None  # only computes when W is square


def _reshaped(case, got) -> bool:
    W = np.asarray(case.args[0])
    n_out, n_in = W.shape
    return n_out != n_in and min(n_out, n_in) > 1 and _close(got, W.reshape(n_in, n_out))


def _count(sizes, *, weights=True, biases=True, input_biases=False) -> int:
    sizes = [int(n) for n in sizes]
    total = sum(n_in * n_out for n_in, n_out in zip(sizes, sizes[1:])) if weights else 0
    return total + (sum(sizes[1:]) if biases else 0) + (sizes[0] if input_biases else 0)


def _count_hint(**variant):
    return lambda case, got: np.ndim(got) == 0 and float(got) == _count(case.args[0], **variant)


ASSIGNMENT = Assignment(
    id="a2_layer",
    title="A dense layer",
    exercises=(
        Exercise("to_keras_kernel", points=1, hints=(
            Hint("reshaped_not_transposed", "W.reshape(n_in, n_out) has the right shape but scrambles the "
                 "weights: the kernel is the transpose, W.T (column j of the kernel is row j of W).",
                 _reshaped),
            Hint("returned_W", "this is W itself, shape (n_out, n_in); Keras stores the kernel the other "
                 "way round, (n_in, n_out): return W.T.", lambda c, got: _close(got, c.args[0])),
        )),
        Exercise("layer_forward", points=3, hints=(
            nielsen.batch_of_rows(LAYER_LINE),
            nielsen.looped_over_batch(LAYER_LINE),
            Hint("returned_list", "you returned a Python list (one entry per neuron?): compute the whole "
                 "layer at once with a matrix product, which gives a NumPy array.",
                 lambda c, got: isinstance(got, list)),
            nielsen.column_vector(LAYER_LINE),
            nielsen.column_biases(_layer_hint(_column_bias), LAYER_LINE),
            Hint("kernel_transposed", "W is used transposed: with W of shape (n_out, n_in), one example "
                 "gives W @ a, and a batch of rows gives a @ W.T (not a @ W, nor W.T @ a).",
                 _layer_hint(_kernel_transposed)),
            Hint("bias_wrong_axis", "the bias is added along the batch axis: each neuron (column of the "
                 "(batch, n_out) result) has its own bias, so add b of shape (n_out,) to a @ W.T, "
                 "not b[:, None].", _layer_hint(_bias_on_batch_axis), raised=_bias_column_on_batch),
            Hint("activation_before_bias", "the activation is applied before adding the bias: the layer "
                 "is activation(W @ a + b), bias inside.", _layer_hint(lambda a, W, b, act: act(a @ W.T) + b)),
            Hint("forgot_activation", "this is the weighted input W @ a + b: apply the activation to it.",
                 _layer_hint(lambda a, W, b, act: a @ W.T + b)),
            Hint("ignored_activation", "the activation argument is ignored: with activation=\"relu\" "
                 "use ReLU, max(0, z), not the sigmoid.", _layer_hint(_always_sigmoid)),
            Hint("output_transposed", "for a batch, return one row per example, shape (batch, n_out), "
                 "not (n_out, batch): a @ W.T + b keeps the examples as rows.", _layer_hint(_output_transposed)),
            Hint("batch_flattened", "for a batch a of shape (batch, n_in), return one row per example, "
                 "shape (batch, n_out): don't flatten (ravel, reshape(-1)) or reduce away the batch axis.",
                 _batch_flattened),
        )),
        Exercise("count_parameters", points=1, hints=(
            Hint("forgot_biases", "you counted the weights only: every neuron after the input layer "
                 "also has a bias.", _count_hint(biases=False)),
            Hint("biases_for_inputs", "the input layer is pixels, not neurons: it has no biases.",
                 _count_hint(input_biases=True)),
            Hint("counted_neurons", "that is the number of neurons; count the weights (n_in * n_out per "
                 "layer) and the biases (n_out per layer).",
                 lambda c, got: np.ndim(got) == 0 and float(got) == sum(int(n) for n in c.args[0])),
        )),
    ),
)
