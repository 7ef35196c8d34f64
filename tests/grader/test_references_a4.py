"""Do the A4 reference solution, the GradientTape references and finite differences agree?"""
import numpy as np
import pytest

from grader import references
from grader.references import a4_digits as ref

RNG = np.random.default_rng(11)


@pytest.fixture(scope="module")
def sol(solution):
    return solution("a4_digits")


def cost(x, y, weights, biases, sigmoid):
    a = x
    for W, b in zip(weights, biases):
        a = sigmoid(a @ W.T + b)
    return 0.5 * np.sum((a - y) ** 2)


@pytest.mark.parametrize("sizes", [(784, 16, 16, 10), (5, 4, 3), (6, 3, 4, 2)])
def test_solution_backprop_equals_gradient_tape(sol, sizes):
    weights, biases = ref.random_network(RNG, sizes)
    x, y = RNG.uniform(0, 1, sizes[0]), RNG.uniform(0, 1, sizes[-1])
    got_w, got_b = sol["backprop"](x, y, weights, biases)
    tape_w, tape_b = ref.tape_gradients(x, y, weights, biases, ["sigmoid"] * len(weights))
    for g, t, W in zip(got_w, tape_w, weights):
        assert g.shape == t.shape == W.shape
        np.testing.assert_allclose(g, t, rtol=1e-9, atol=1e-12)
    for g, t, b in zip(got_b, tape_b, biases):
        assert g.shape == t.shape == b.shape
        np.testing.assert_allclose(g, t, rtol=1e-9, atol=1e-12)


def test_gradient_tape_reference_matches_finite_differences(sol):
    """The reference itself, checked against calculus rather than against another backprop."""
    weights, biases = ref.random_network(RNG, (6, 3, 4, 2))
    x, y = RNG.uniform(0, 1, 6), RNG.uniform(0, 1, 2)
    tape_w, tape_b = ref.tape_gradients(x, y, weights, biases, ["sigmoid"] * 3)
    eps = 1e-6
    for l, W in enumerate(weights):
        for i, j in np.ndindex(W.shape):
            up = [w.copy() for w in weights]
            up[l][i, j] += eps
            down = [w.copy() for w in weights]
            down[l][i, j] -= eps
            numeric = (cost(x, y, up, biases, sol["sigmoid"]) - cost(x, y, down, biases, sol["sigmoid"])) / (2 * eps)
            assert tape_w[l][i, j] == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_batched_backprop_sums_the_per_example_gradients(sol):
    weights, biases = ref.random_network(RNG, (784, 16, 16, 10))
    x, labels = ref.digits(RNG, 4)
    y = np.eye(10)[labels]
    batch_w, batch_b = sol["backprop"](x, y, weights, biases)
    single = [sol["backprop"](x[i], y[i], weights, biases) for i in range(4)]
    for l in range(3):
        np.testing.assert_allclose(batch_w[l], sum(s[0][l] for s in single), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(batch_b[l], sum(s[1][l] for s in single), rtol=1e-10, atol=1e-14)


def test_the_no_sigma_prime_variant_is_backprop_without_the_factor(sol):
    """The hint's GradientTape variant equals the hand-written mistake from the sample catalogue."""
    from grader.authoring import samples

    namespace = {"np": np, "sigmoid": sol["sigmoid"], "sigmoid_prime": sol["sigmoid_prime"]}
    exec(samples.MISTAKES["a4_digits"]["missing_sigmoid_prime"].source, namespace)
    weights, biases = ref.random_network(RNG, (5, 4, 3))
    x, y = RNG.uniform(0, 1, 5), RNG.uniform(0, 1, 3)
    everywhere = ref._no_sigmoid_prime_variants(x, y, weights, biases)[2]
    mistaken = namespace["backprop"](x, y, weights, biases)
    for got, want in zip(mistaken[0] + mistaken[1], everywhere[0] + everywhere[1]):
        np.testing.assert_allclose(got, want, rtol=1e-10)


def test_forward_reference_is_the_solution_model(sol):
    from grader.quiet import keras

    keras()
    case = references.public_cases("a4_digits")["build_model"][0]
    weights, biases, x = case.args
    model = sol["build_model"]()
    for layer, W, b in zip(model.layers, weights, biases):
        layer.set_weights([W.T, b])
    np.testing.assert_allclose(np.asarray(model(x.astype("float32"))), case.expected, rtol=1e-5, atol=1e-6)
    assert model.count_params() == 13002


def test_hidden_cases_depend_on_the_seed_and_are_reproducible():
    one = references.hidden_cases("a4_digits", 1)
    again = references.hidden_cases("a4_digits", 1)
    other = references.hidden_cases("a4_digits", 2)
    assert np.array_equal(one["backprop"][0].args[2][0], again["backprop"][0].args[2][0])
    assert not np.array_equal(one["backprop"][0].args[2][0], other["backprop"][0].args[2][0])
    assert not np.array_equal(one["train"][0].probe["test_indices"], other["train"][0].probe["test_indices"])
