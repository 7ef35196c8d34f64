"""Run the book's own ``src/network.py`` through the course's self-check, via a small adapter.

The file is not part of this repository (it is the book's code): point ``NIELSEN_NETWORK_PY`` at
a copy of mnielsen/neural-networks-and-deep-learning's ``src/network.py``. ``adapt(source)``
changes nothing in it but Python 2 syntax (``print`` statements, ``xrange``), then appends
``ADAPTER``: the course's graded functions, each a one-line call of the book's code on the
course's arrays exactly as the self-check passes them (no reshaping). ``FIXES`` are the lines
each hint asks for, applied to that adapted source.
"""
from __future__ import annotations

import io
import re
import tokenize

from nielsen_corpus import Fix

ADAPTER = '''

# ---- adapter (tests/course/nielsen_book.py): the course's signatures, calling the book's code ----
SIZES = [784, 16, 16, 10]


def _network(weights, biases):
    """A Network holding the course's weights and biases as they are, (n_out, n_in) and (n_out,)."""
    net = Network.__new__(Network)
    net.weights, net.biases = list(weights), list(biases)
    net.num_layers = len(weights) + 1
    net.sizes = [np.shape(weights[0])[1]] + [np.shape(w)[0] for w in weights]
    return net


def feedforward(a, weights, biases):  # A3
    return _network(weights, biases).feedforward(a)


def predict(a, weights, biases):  # A3: the guess as Network.evaluate makes it
    return np.argmax(feedforward(a, weights, biases))


def accuracy(x, y, weights, biases):  # A3: Network.evaluate on (digit, label) pairs
    return _network(weights, biases).evaluate(list(zip(x, y)))


def backprop(x, y, weights, biases):  # A4
    return _network(weights, biases).backprop(x, y)


def train(x_train, y_train, epochs, batch_size=10, eta=3.0, seed=0):  # A4
    random.seed(seed)
    np.random.seed(seed)
    net = Network(SIZES)
    # the book's training_data: (x, desired output) pairs, the output one-hot (mnist_loader's vectorized_result)
    net.SGD(list(zip(x_train, np.eye(10)[y_train])), epochs, batch_size, eta)
    return net.weights, net.biases
'''

FUNCTIONS = {"sigmoid": "a1_neuron", "feedforward": "a3_network", "predict": "a3_network",
             "accuracy": "a3_network", "backprop": "a4_digits", "train": "a4_digits"}
"""the course's graded functions the adapter provides, and their assignments"""

FIXES = {fix.hint: fix for fix in (
    Fix("exp_overflow", "return 1.0/(1.0+np.exp(-z))", "return np.exp(-np.logaddexp(0, -z))",
        "np.exp(-np.logaddexp(0, -z))"),
    Fix("book_column_on_batch", "a = sigmoid(np.dot(w, a)+b)", "a = sigmoid(a @ w.T + b)", "a @ w.T + b"),
    Fix("argmax_flattened", "np.argmax(feedforward(a, weights, biases))",
        "np.argmax(feedforward(a, weights, biases), axis=-1)", "axis=-1)"),
    Fix("returned_count", "return sum(int(x == y) for (x, y) in test_results)",
        "return sum(int(x == y) for (x, y) in test_results) / len(test_results)", "len("),
    Fix("dot_not_outer", r"np\.dot\(delta, (activations\[[^\]]+\])\.transpose\(\)\)", r"np.outer(delta, \1)",
        "np.outer(delta, activations[", regex=True),
    Fix("book_gradient_order", "return (nabla_b, nabla_w)", "return (nabla_w, nabla_b)", "(nabla_w, nabla_b)"),
    Fix("columns_mixed_with_1d", "self.biases = [np.random.randn(y, 1) for y in sizes[1:]]",
        "self.biases = [np.random.randn(y) for y in sizes[1:]]", "np.random.randn(y) for y in sizes[1:]"),
    Fix("book_weight_init", r"np\.random\.randn\(y, x\)", "np.random.randn(y, x) / np.sqrt(x)",
        "np.random.randn(y, x) / np.sqrt(x)", regex=True),
)}
"""the line each hint asks for, in the adapted network.py"""


def python3(source: str) -> str:
    """Python 2 -> 3 syntax, as much as network.py needs: ``print x`` -> ``print(x)``, ``xrange`` -> ``range``."""
    edits = []  # ((row, col), text to insert or replace with, length replaced)
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    line_start = True
    open_print = None
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.NAME and tok.string == "xrange":
            edits.append((tok.start, "range", len("xrange")))
        if line_start and tok.type == tokenize.NAME and tok.string == "print" and tokens[i + 1].string != "(":
            gap = tokens[i + 1].start[1] - tok.end[1] if tokens[i + 1].start[0] == tok.end[0] else 0
            edits.append((tok.end, "(", gap))  # print "x" -> print("x")
            open_print = True
        if tok.type == tokenize.NEWLINE and open_print:
            edits.append((tok.start, ")", 0))
            open_print = None
        line_start = tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT,
                                  tokenize.COMMENT) or (line_start and tok.type == tokenize.ENCODING)
    lines = source.splitlines(keepends=True)
    for (row, col), text, length in sorted(edits, reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + text + line[col + length:]
    return "".join(lines)


def adapt(source: str) -> str:
    """The book's network.py in Python 3 syntax, with the course's functions appended."""
    return python3(source) + ADAPTER


def apply(fix: Fix, source: str) -> str:
    return re.sub(fix.old, fix.new, source) if fix.regex else source.replace(fix.old, fix.new)
