"""A1 "one neuron": the graded functions, their points and the mistakes we can name.

The correct answers come from Keras (``grader.references.a1_neuron``); the hints below only
recognise *wrong* answers, by recomputing the classic mistakes with NumPy.
"""
from __future__ import annotations

import numpy as np

from course.compare import validate_array
from course.exercises.base import Assignment, Exercise, Hint
from course.exercises.numeric import close as _close
from course.exercises.numeric import sigmoid as _sigmoid

BIAS = -10.0
"""the edge detector fires when more than 10 of its pixels are lit: bias = -threshold = -10"""


OVERFLOW = ("for very negative z, np.exp(-z) is too big for a float. Use a form that never exponentiates "
            "a large positive number, e.g. np.exp(-np.logaddexp(0, -z)), or treat z >= 0 and z < 0 separately.")
"""what to do about an overflow in the sigmoid"""


def _z(case) -> np.ndarray:
    return np.asarray(case.args[0], dtype=np.float64)


def _dot(case) -> float:
    return float(np.dot(case.args[0], case.args[1]))


def region_mask(top: int, left: int, height: int, width: int, *, inclusive: bool = False) -> np.ndarray:
    """A 28x28 mask with ones over rows top..top+height and columns left..left+width."""
    mask = np.zeros((28, 28))
    extra = 1 if inclusive else 0
    mask[top:top + height + extra, left:left + width + extra] = 1.0
    return mask


def digit_outputs(case, got) -> np.ndarray:
    """The edge detector's Dense(1) outputs on the case's real digits, with the student's weights."""
    problem = validate_array(got, np.zeros(784))
    if problem:
        raise ValueError(f"the weights should be a flat array of 784 numbers: {problem}")
    return case.probe @ got.astype(np.float64) + BIAS


def _mask_hint(*, transposed: bool = False, inclusive: bool = False):
    def matches(case, got):
        top, left, height, width = case.args
        if transposed:
            top, left, height, width = left, top, width, height
        return _close(got, region_mask(top, left, height, width, inclusive=inclusive).ravel())
    return matches


def _whole(got) -> bool:
    return isinstance(got, (int, np.integer)) and not isinstance(got, (bool, np.bool_))


def _count_hint(offset):
    """A parameter-count mistake that lands ``offset(n)`` away from Keras's count.

    Written relative to the answer, so that this student-side file recognises the mistakes without
    spelling the count out. Only whole numbers match: a float is the division mistake.
    """
    def matches(case, got):
        return _whole(got) and case.expected is not None and int(got) == int(case.expected) + offset(int(case.args[0]))
    return matches


def _true_division(case, got) -> bool:
    return isinstance(got, (float, np.floating)) and case.expected is not None and float(got) == float(case.expected)


def _fires_flipped(case, got) -> bool:
    flipped = _dot(case) > -case.args[2]
    return flipped != (_dot(case) > case.args[2]) and bool(got) == flipped


ASSIGNMENT = Assignment(
    id="a1_neuron",
    title="One neuron",
    exercises=(
        Exercise("quadratic_logistic_parameters", points=1, hints=(
            Hint("forgot_bias", "one short: the logistic neuron also has a bias, one more parameter "
                 "besides a weight per feature.", _count_hint(lambda n: -1)),
            Hint("forgot_linear_or_squares", "n short: the features are the n pixels themselves plus "
                 "every product x_i·x_j with i ≤ j, squares x_i² included; you left out one of those n-long "
                 "groups.", _count_hint(lambda n: -n)),
            Hint("counted_pairs_twice", "you counted n² products: x_i·x_j and x_j·x_i are the same feature, "
                 "so there are n(n+1)/2 of them (i ≤ j), not n².", _count_hint(lambda n: n * (n - 1) // 2)),
            Hint("linear_only", "that is plain logistic regression on the pixels (n weights and a bias); "
                 "this model also has a weight for every product x_i·x_j.",
                 lambda c, got: _whole(got) and int(got) == int(c.args[0]) + 1),
            Hint("true_division", "the right count, but as a float: in Python 3, / always gives a float; "
                 "divide with // to keep a whole number (n * (n + 1) is always even).", _true_division),
        )),
        Exercise("weighted_sum", points=1, hints=(
            Hint("not_summed", "you returned the element-wise products a * w: add them up "
                 "(np.dot(w, a) or np.sum(w * a)).", lambda c, got: _close(got, c.args[0] * c.args[1])),
            Hint("ignored_weights", "the result equals the sum of the activations alone: "
                 "multiply each activation by its weight first.", lambda c, got: _close(got, np.sum(c.args[0]))),
        )),
        Exercise("weighted_input", points=1, calls=("weighted_sum",), hints=(
            Hint("forgot_bias", "the result is the weighted sum without the bias: add b.",
                 lambda c, got: _close(got, _dot(c))),
            Hint("bias_subtracted", "you subtracted the bias: the weighted input is w·a + b "
                 "(the bias is already minus the threshold).", lambda c, got: _close(got, _dot(c) - c.args[2])),
        )),
        Exercise("sigmoid", points=2, warnings_fail=True, warning_hint=OVERFLOW, hints=(
            Hint("exp_overflow", "the textbook formula 1.0/(1.0+np.exp(-z)) (Nielsen's network.py uses "
                 f"it) overflows: {OVERFLOW}", warned=lambda c, notes: any("overflow" in n for n in notes)),
            Hint("used_tanh", "this is tanh, which squishes into (-1, 1); the sigmoid is 1 / (1 + e^(-z)) "
                 "and squishes into (0, 1).", lambda c, got: _close(got, np.tanh(_z(c)))),
            Hint("sign_flipped", "the curve is mirrored: use e^(-z), not e^(z).",
                 lambda c, got: _close(got, _sigmoid(-_z(c)))),
            Hint("step_function", "this is the step function (0 or 1): the sigmoid is a smooth "
                 "version of it, 1 / (1 + e^(-z)).", lambda c, got: _close(got, (_z(c) > 0) * 1.0)),
        )),
        Exercise("relu", points=1, hints=(
            Hint("clipped_at_one", "ReLU has no upper limit: it is max(0, z), not clip(z, 0, 1).",
                 lambda c, got: _close(got, np.clip(_z(c), 0, 1))),
            Hint("used_minimum", "use np.maximum(0, z): np.minimum keeps the negative part.",
                 lambda c, got: _close(got, np.minimum(0, _z(c)))),
            Hint("returned_mask", "you returned whether z > 0; ReLU returns z itself where it is positive.",
                 lambda c, got: _close(got, (_z(c) > 0) * 1.0)),
            Hint("max_of_array", "np.max(z) reduces the whole array to one number; np.maximum(0, z) works "
                 "element-wise.", lambda c, got: np.ndim(got) == 0 and np.ndim(c.args[0]) > 0),
        )),
        Exercise("neuron", points=2, calls=("weighted_sum", "weighted_input", "sigmoid"), hints=(
            Hint("forgot_sigmoid", "this is the weighted input w·a + b: squish it with the sigmoid.",
                 lambda c, got: _close(got, _dot(c) + c.args[2])),
            Hint("forgot_bias", "the bias is missing: the neuron is sigmoid(w·a + b).",
                 lambda c, got: _close(got, _sigmoid(_dot(c)))),
            Hint("bias_subtracted", "you subtracted the bias: the neuron is sigmoid(w·a + b).",
                 lambda c, got: _close(got, _sigmoid(_dot(c) - c.args[2]))),
            Hint("used_relu", "this neuron uses ReLU; this exercise asks for the sigmoid.",
                 lambda c, got: _close(got, max(0.0, _dot(c) + c.args[2]))),
        )),
        Exercise("fires", points=1, calls=("weighted_sum", "weighted_input"), hints=(
            Hint("threshold_sign_flipped", "the threshold's sign is flipped: the neuron fires when "
                 "w·a > threshold, i.e. when w·a + b > 0 with b = -threshold.",
                 _fires_flipped),
            Hint("greater_or_equal", "at exactly the threshold the neuron does not fire: use >, not >=.",
                 lambda c, got: bool(got) and _dot(c) == c.args[2]),
        )),
        Exercise("edge_detector", points=2, transform=digit_outputs, hints=(
            Hint("region_transposed", "rows and columns are swapped: top/height count rows "
                 "(image[top:top+height, left:left+width]).", _mask_hint(transposed=True)),
            Hint("inclusive_end", "the region is one pixel too big: Python slices exclude their end, "
                 "rows top..top+height-1.", _mask_hint(inclusive=True)),
            Hint("not_flattened", "return the 28x28 weights flattened to 784 numbers (.ravel()), "
                 "the way the pixels feed the neuron.", lambda c, got: np.shape(got) == (28, 28)),
        )),
    ),
)
