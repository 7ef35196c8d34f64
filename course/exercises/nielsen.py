"""Hints for code written the way Michael Nielsen's book writes it, where the course's shapes differ.

*Neural Networks and Deep Learning* (``src/network.py``) and this course use the same maths and
the same ``W`` of shape ``(n_out, n_in)``, but not the same vectors:

* the book keeps every vector as a **column**, shape ``(n, 1)``: an input ``x``, a desired output
  ``y``, every bias ``b`` (``np.random.randn(y, 1)``), every ``delta``;
* the course's vectors are **1-D**, shape ``(n,)``, and a batch is a matrix of **rows**,
  ``(batch, n)`` (the Keras convention), so one layer is ``sigmoid(a @ W.T + b)``.

So ``np.dot(w, a) + b`` (one column at a time) fails on a batch of rows, ``np.dot(delta,
a.transpose())`` (an outer product of columns) is not one for 1-D vectors, an ``(n, 1)`` bias
broadcasts with an ``(n,)`` vector into an ``(n, n)`` matrix, and ``np.argmax`` without ``axis``
(fine on one column) flattens a batch. Each hint below says what the book does, what the course
expects and the line to write. Most of these mistakes end in an exception, not a wrong value, so
they are recognised from the exception's shapes (``course.exercises.shapes``) read together with
the case's input shapes. The assignments put these hints among their own (``a2_layer`` …
``a4_digits``); ``tests/course/nielsen_corpus.py`` is the code they are tested on.
"""
from __future__ import annotations

import numpy as np

from course.compare import compare
from course.exercises.base import Case, Hint
from course.exercises.numeric import close, sigmoid
from course.exercises.shapes import shape_error

BOOK = "Nielsen's network.py"

LAYER_LINE = "a = sigmoid(a @ w.T + b)"
"""one layer, in the course's shapes: one example (n_in,) or a batch of rows (batch, n_in) alike"""
PREDICT_LINE = "np.argmax(feedforward(a, weights, biases), axis=-1)"
OUTER_LINE = "nabla_w[-l] = np.outer(delta, activations[-l-1])"
ONE_D_BIASES_LINE = "biases = [np.random.randn(y) for y in sizes[1:]]"
INIT_LINE = "weights = [np.random.randn(y, x) / np.sqrt(x) for x, y in zip(sizes[:-1], sizes[1:])]"


# -- what went wrong, read from the case's inputs and the exception ------------------------------

def _input(case: Case) -> np.ndarray:
    return np.asarray(case.args[0])


def _network_sizes(weights) -> set[int]:
    return {int(np.shape(weights[0])[1])} | {int(np.shape(w)[0]) for w in weights}


def _batch_meets_a_column(case: Case, error: str) -> bool:
    """A batch of rows went into ``np.dot(w, a)`` (or ``w @ a``, ``np.dot(w, a.T) + b``) and NumPy
    complained about shapes that name the batch."""
    a, err = _input(case), shape_error(error)
    if a.ndim != 2 or err is None or err.kind == "scalar_matmul":
        return False
    if any(len(s) == 2 and s[1] == 1 and s[0] not in (a.shape[0], a.size) for s in err.shapes):
        return False  # a bias column (n_out, 1) added to rows: the bias's axis, not np.dot(w, a)
    return a.shape in err.shapes or bool({a.shape[0], a.size} & err.dims)


def _looped_over_one_example(case: Case, error: str) -> bool:
    """``for x in a`` over one example, shape (n_in,), gives its numbers one at a time: a number
    times a weight matrix is that matrix, which then meets a bias, or ``@`` refuses a number."""
    a, err = _input(case), shape_error(error)
    if a.ndim != 1 or err is None:
        return False
    weights = [tuple(np.shape(w)) for w in case.args[1]]
    return err.kind == "scalar_matmul" or any(shape in err.shapes for shape in weights)


def _sizes_of(case: Case, fallback) -> set[int]:
    try:
        return _network_sizes(case.args[2])  # backprop(x, y, weights, biases)
    except (IndexError, TypeError):
        return set(fallback)  # train(x_train, y_train, epochs): the course's SIZES


def dot_of_vectors(fallback_sizes=()):
    """``np.dot(delta, a.transpose())`` with 1-D ``delta`` (n_out,) and ``a`` (n_in,): NumPy
    refuses a dot product of two vectors whose lengths are two layer sizes."""
    def raised(case: Case, error: str) -> bool:
        err, sizes = shape_error(error), _sizes_of(case, fallback_sizes)
        if err is None:
            return False
        if err.kind == "not_aligned":
            (p, *rest), (q, *more) = err.shapes
            return not rest and not more and p != q and {p, q} <= sizes
        return err.kind == "matmul" and len(set(err.sizes)) == 2 and set(err.sizes) <= sizes
    return raised


def columns_meet_vectors(fallback_sizes=()):
    """An ``(n, 1)`` column met an ``(n,)`` vector: ``z`` became an ``(n, n)`` matrix, which then
    fails to broadcast with a 1-D bias or to multiply a 1-D activation further on."""
    def raised(case: Case, error: str) -> bool:
        err, sizes = shape_error(error), _sizes_of(case, fallback_sizes)
        if err is None or len(err.shapes) != 2:
            return False
        if any(shape == (k, 1) for shape in err.shapes for k in sizes - {1}):  # a bias column itself
            return True
        first, second = err.shapes
        if err.kind == "broadcast":  # z (p, q) + b (p,): a 1-D case has no 2-D z
            return len(first) == 2 and second == first[:1] and first[1] in sizes and first[1] != 1
        if err.kind == "not_aligned":  # delta (k, k) . a (n,): a square matrix from (k,) + (k, 1)
            return len(first) == 2 and first[0] == first[1] and len(second) == 1 and second[0] != first[0]
        return False
    return raised


def column_bias_network(case: Case, got) -> bool:
    """``feedforward`` of one example with (n, 1) biases: an (n, n) matrix after the first layer."""
    a = np.asarray(case.args[0], dtype=np.float64)
    if a.ndim != 1:
        return False
    for W, b in zip(case.args[1], case.args[2]):
        a = sigmoid(np.asarray(W, np.float64) @ a + np.asarray(b, np.float64).reshape(-1, 1))
    return close(got, a)


def column_output(case: Case, got) -> bool:
    """One example in, the right numbers out, but as a column (n_out, 1)."""
    expected = np.asarray(case.expected)
    return expected.ndim == 1 and np.shape(got) == expected.shape + (1,) and close(np.asarray(got)[:, 0], expected)


def _looped_over_batch(case: Case, got) -> bool:
    return _input(case).ndim == 2 and isinstance(got, list) and len(got) == _input(case).shape[0]


def _flat(g):
    g = np.asarray(g, dtype=np.float64)
    return g[:, 0] if g.ndim == 2 and g.shape[1] == 1 else g


def _pair(got):
    try:
        first, second = got
        return [np.asarray(g, np.float64) for g in first], [np.asarray(g, np.float64) for g in second]
    except (TypeError, ValueError):
        return None


def _gradients_swapped(case: Case, got) -> bool:
    """``(nabla_b, nabla_w)``, the book's order (its biases may still be columns)."""
    pair = _pair(got)
    return pair is not None and compare((pair[1], [_flat(g) for g in pair[0]]), case.expected,
                                        rtol=1e-6, atol=1e-10) is None


def _column_gradients(case: Case, got) -> bool:
    """``(nabla_w, nabla_b)`` right, but every ``nabla_b[l]`` a column (n_out, 1)."""
    pair = _pair(got)
    return (pair is not None and any(g.ndim == 2 for g in pair[1])
            and compare((pair[0], [_flat(g) for g in pair[1]]), case.expected, rtol=1e-6, atol=1e-10) is None)


def _column_biases_returned(case: Case, got) -> bool:
    """``train`` returned ``(weights, biases)`` with the book's (n, 1) biases."""
    pair = _pair(got)
    return pair is not None and bool(pair[1]) and all(b.ndim == 2 and b.shape[1] == 1 for b in pair[1])


# -- the hints -----------------------------------------------------------------------------------

def batch_of_rows(line: str = LAYER_LINE, where: str = "") -> Hint:
    """``np.dot(w, a) + b`` on a batch of rows raised: the book's one-column-at-a-time layer."""
    return Hint("book_column_on_batch",
                f"{BOOK} feeds one example at a time, as a column x of shape (784, 1), and computes "
                "np.dot(w, a) + b. The course passes a batch as rows, shape (batch, 784) (the Keras "
                "convention), which np.dot(w, a) can't multiply. Write each layer as "
                f"{line}{where}: the same line works for one example (784,) and for a batch of rows.",
                raised=_batch_meets_a_column)


def looped_over_one_example(line: str) -> Hint:
    """``for x in a`` (the book's evaluate) given one example: the loop runs over its pixels."""
    return Hint("loop_over_one_example",
                f"you loop over the examples (for x in a), as {BOOK}'s evaluate does over its test "
                "data. But a is sometimes one example, shape (784,), and then the loop runs over its "
                f"784 pixels. Don't loop: {line} handles one example (784,) and a batch (batch, 784) alike.",
                raised=_looped_over_one_example)


def looped_over_batch(line: str) -> Hint:
    """A Python list of per-example results, for a batch."""
    return Hint("loop_over_batch",
                f"you looped over the examples one at a time, as {BOOK} does, and returned a Python "
                "list. The course gives a batch as one array of rows, (batch, 784): compute the "
                f"whole batch at once, {line}, which returns an array.",
                _looped_over_batch)


def column_vector(line: str = LAYER_LINE) -> Hint:
    """A column (n_out, 1) for one example: ``a.reshape(-1, 1)`` as in the book."""
    return Hint("column_vector",
                f"you returned a column, shape (n, 1), as {BOOK} does (its vectors are columns). The "
                "course's vectors are 1-D, shape (n,), and a batch is rows (batch, n): don't reshape "
                f"a into a column; {line} keeps one example 1-D.", column_output)


def column_biases(matches=column_bias_network, line: str = LAYER_LINE) -> Hint:
    """An (n, 1) bias added to a 1-D ``W @ a``: an (n, n) matrix instead of a vector."""
    return Hint("column_biases",
                f"{BOOK}'s biases are columns, shape (n, 1) (np.random.randn(y, 1)); added to a "
                "1-D vector of shape (n,) they broadcast into an (n, n) matrix. The course's biases "
                f"are 1-D, (n_out,): use them as given, {line}, with no reshape.", matches)


def dot_not_outer(fallback_sizes=()) -> Hint:
    return Hint("dot_not_outer",
                f"in {BOOK}, delta and the activations are columns (n, 1), so np.dot(delta, "
                "a.transpose()) is an outer product of shape (n_out, n_in). The course's vectors are "
                "1-D: .transpose() does nothing to them and np.dot of two vectors of different lengths "
                f"fails. Write BP4 as {OUTER_LINE} (shape (n_out, n_in), like the weights), "
                "and nabla_w[-1] = np.outer(delta, activations[-2]) for the last layer.",
                raised=dot_of_vectors(fallback_sizes))


def columns_meet_vectors_hint(fallback_sizes=()) -> Hint:
    return Hint("columns_mixed_with_1d",
                f"{BOOK} keeps every vector as a column, shape (n, 1): x, y and the biases "
                "(np.random.randn(y, 1)). The course's are 1-D: x (784,), y (10,), biases[l] (n_out,). "
                "Mixed, np.dot(w, a) + b adds an (n,) and an (n, 1) into an (n, n) matrix and the shapes "
                f"go wrong further on. Keep every vector 1-D: create the biases as {ONE_D_BIASES_LINE} "
                "(or use the course's as given) and don't reshape x or y.",
                raised=columns_meet_vectors(fallback_sizes))


GRADIENTS_SWAPPED = Hint(
    "book_gradient_order",
    f"{BOOK}'s backprop returns (nabla_b, nabla_w); the course's returns (nabla_w, nabla_b), in the "
    "order of its arguments weights, biases: return (nabla_w, nabla_b).", _gradients_swapped)

COLUMN_GRADIENTS = Hint(
    "column_gradients",
    f"your nabla_b[l] are columns, shape (n_out, 1), as in {BOOK} (its biases are (n, 1)). The "
    "course's biases, and so their gradients, are 1-D, (n_out,): return "
    "(nabla_w, [nb.ravel() for nb in nabla_b]), or keep x and y 1-D from the start.", _column_gradients)

COLUMN_BIASES_RETURNED = Hint(
    "column_biases_returned",
    f"the biases are columns, shape (n, 1), as {BOOK} makes them (np.random.randn(y, 1)); the course's "
    "biases are 1-D, (n_out,): create them 1-D, np.random.randn(y) or np.zeros(y), or return "
    "(weights, [b.ravel() for b in biases]).", _column_biases_returned)


def _wide_first_layer(case: Case, got) -> bool:
    """``train`` fell short with first-layer weights still spread like N(0, 1): the book's start."""
    pair = _pair(got)
    if pair is None or not pair[0] or pair[0][0].ndim != 2:
        return False
    first = pair[0][0]
    return first.shape[1] > 100 and float(np.std(first)) > 0.5  # N(0, 1/n_in) would be about 0.04


BOOK_WEIGHT_INIT = Hint(
    "book_weight_init",
    f"{BOOK} starts from weights drawn from N(0, 1). With 784 inputs, z = w @ a + b then has a spread of "
    "about 10, the first layer's sigmoids saturate and learn slowly, too slowly for this run. The book's "
    "network2.py (chapter 3) and the course start from N(0, 1/n_in): "
    f"{INIT_LINE}.", _wide_first_layer)


def _rows_into_dot(case: Case, error: str) -> bool:
    """``np.dot(w, a)`` given rows: a weight matrix (k, n) and a batch (m, n) that share their last axis."""
    err = shape_error(error)
    if err is None or err.kind != "not_aligned":
        return False
    (first, second) = err.shapes
    return len(first) == 2 and len(second) == 2 and first[1] == second[1] and second[0] != first[1]


BACKPROP_GIVEN_ROWS = Hint(
    "backprop_given_a_batch",
    f"your backprop works on one example, as {BOOK}'s does (np.dot(w, activation) + b), but train gives "
    "it a whole mini-batch of rows, (m, 784). Call it once per example and add up the gradients, as the "
    "book's update_mini_batch does: for x, y in zip(x_train[batch], targets[batch]): dw, db = "
    "backprop(x, y, weights, biases), summing each dw and db; or write backprop's layers for rows, "
    "z = a @ w.T + b (see \"Going faster\").", raised=_rows_into_dot)
