"""Tests for ``course.plots``: every helper draws headless (Agg) and returns its Figure."""
import matplotlib

matplotlib.use("Agg")

import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure

from course import plots


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))


def _relu(z):
    return np.maximum(0.0, z)


def _stub(z):
    raise NotImplementedError()


def _render(fig):
    fig.canvas.draw()  # raises if anything drawn is malformed


@pytest.fixture
def digit():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(28, 28), dtype=np.uint8)


@pytest.mark.parametrize("shape", [(784,), (28, 28)])
def test_show_digit_draws_one_grayscale_image_scaled_to_activations(digit, shape):
    fig = plots.show_digit(digit.reshape(shape), title="label 7")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    (image,) = ax.images
    assert image.get_array().shape == (28, 28)
    np.testing.assert_allclose(image.get_array(), digit / 255.0)
    assert ax.get_title() == "label 7"
    _render(fig)


def test_show_digit_keeps_activations_in_unit_interval():
    a = np.linspace(0, 1, 784)
    fig = plots.show_digit(a)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array().ravel(), a)


def test_show_digit_draws_on_a_given_axes(digit):
    fig = Figure()
    ax = fig.add_subplot()
    assert plots.show_digit(digit, ax=ax) is fig
    assert len(ax.images) == 1


def test_show_digit_rejects_wrong_shape_by_name():
    with pytest.raises(ValueError, match=r"'image' should have shape \(784,\) or \(28, 28\); received shape \(10,\)"):
        plots.show_digit(np.zeros(10))


def test_digits_row_draws_one_axes_per_digit(digit):
    fig = plots.digits_row([digit, digit / 255.0, digit.ravel()], titles=["a", "b", "c"])
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    assert all(len(ax.images) == 1 for ax in fig.axes)
    _render(fig)


def test_digits_row_rejects_mismatched_titles(digit):
    with pytest.raises(ValueError, match="one entry per image"):
        plots.digits_row([digit, digit], titles=["only one"])


def test_sigmoid_vs_step_draws_step_and_both_functions():
    fig = plots.sigmoid_vs_step(_sigmoid, _relu)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.lines) == 3
    step, sig, relu = ax.lines
    np.testing.assert_array_equal(step.get_ydata(), (step.get_xdata() > 0) * 1.0)
    assert (sig.get_xdata().min(), sig.get_xdata().max()) == (-10.0, 10.0)
    np.testing.assert_allclose(relu.get_ydata(), _relu(relu.get_xdata()))
    assert "skipped" not in ax.get_title()
    _render(fig)


def test_sigmoid_vs_step_skips_functions_not_implemented_yet():
    fig = plots.sigmoid_vs_step(sigmoid=_sigmoid, relu=_stub)
    ax = fig.axes[0]
    assert len(ax.lines) == 2  # step + sigmoid
    assert "skipped relu: not implemented yet" in ax.get_title()
    fig = plots.sigmoid_vs_step(_stub, _stub)
    assert len(fig.axes[0].lines) == 1
    assert "skipped sigmoid, relu" in fig.axes[0].get_title()
    _render(fig)


def test_sigmoid_vs_step_without_functions_draws_only_the_step():
    assert len(plots.sigmoid_vs_step().axes[0].lines) == 1


def test_sigmoid_vs_step_lets_other_errors_through():
    def broken(z):
        raise TypeError("oops")

    with pytest.raises(TypeError, match="oops"):
        plots.sigmoid_vs_step(broken)


def test_sigmoid_vs_step_rejects_a_reduced_result():
    with pytest.raises(ValueError, match=r"sigmoid\(z\) should return shape \(401,\)"):
        plots.sigmoid_vs_step(lambda z: np.max(z))


def test_weights_over_digit_overlays_translucent_weights(digit):
    weights = np.zeros((28, 28))
    weights[6:11, 4:24] = 1.0
    fig = plots.weights_over_digit(weights.ravel(), digit)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.images) == 2
    below, layer = ax.images
    assert layer.get_alpha() < 1
    overlay = layer.get_array()
    assert overlay.shape == (28, 28)
    assert overlay.mask.sum() == 784 - 5 * 20  # zero weights are transparent
    assert len(fig.axes) == 2  # the digit and the colour bar
    _render(fig)


def test_weights_over_digit_rejects_wrong_shape(digit):
    with pytest.raises(ValueError, match="'weights' should have shape"):
        plots.weights_over_digit(np.ones(783), digit)


def test_activations_bar_draws_one_labelled_bar_per_value():
    fig = plots.activations_bar([0.1, 0.9, 0.5], labels=["7", "1", "0"])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == pytest.approx([0.1, 0.9, 0.5])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["7", "1", "0"]
    assert [t.get_text() for t in ax.texts] == ["0.10", "0.90", "0.50"]
    _render(fig)


@pytest.mark.parametrize("values, labels, match", [
    (np.zeros((2, 2)), None, r"'values' should have shape \(n,\)"),
    ([0.1, 0.2], ["a"], "'labels' should have 2 entries"),
])
def test_activations_bar_rejects_bad_input(values, labels, match):
    with pytest.raises(ValueError, match=match):
        plots.activations_bar(values, labels=labels)


def test_network_flow_draws_the_digit_and_one_column_of_neurons_per_layer(digit):
    layers = [np.linspace(0, 1, 16), np.linspace(1, 0, 16), np.eye(10)[7] * 0.9 + 0.05]
    fig = plots.network_flow(digit, layers)
    assert isinstance(fig, Figure)
    image_ax, net_ax = fig.axes
    assert len(image_ax.images) == 1
    columns = net_ax.collections[:3]
    assert [len(c.get_offsets()) for c in columns] == [16, 16, 10]
    np.testing.assert_allclose(columns[0].get_array(), layers[0])  # brightness = activation
    ring = net_ax.collections[3]  # the guess: output neuron 7
    np.testing.assert_allclose(ring.get_offsets()[0], columns[2].get_offsets()[7])
    assert fig.get_suptitle().endswith("guess: 7")
    assert {"7  0.95", "0  0.05"} <= {t.get_text() for t in net_ax.texts}
    _render(fig)


@pytest.mark.parametrize("activations, labels, match", [
    ([np.zeros((2, 16))], None, r"activations\[0\] should have shape \(n,\)"),
    ([], None, "at least one layer"),
    ([np.zeros(10)], ["a"], "'labels' should have 10 entries"),
])
def test_network_flow_rejects_bad_input(digit, activations, labels, match):
    with pytest.raises(ValueError, match=match):
        plots.network_flow(digit, activations, labels=labels)


def test_weight_images_draws_each_neuron_as_a_28x28_image_centred_on_zero():
    rng = np.random.default_rng(1)
    weights = rng.normal(size=(16, 784))
    fig = plots.weight_images(weights)
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len(image_axes) == 16 and image_axes[3].get_title() == "neuron 3"
    image = image_axes[3].images[0]
    np.testing.assert_array_equal(image.get_array(), weights[3].reshape(28, 28))
    low, high = image.get_clim()
    assert low == -high == -np.abs(weights[3]).max()  # white is weight 0
    _render(fig)


def test_weight_images_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"'weights' should have shape \(n, 784\)"):
        plots.weight_images(np.zeros((784, 16)))


def test_misclassified_shows_only_the_wrong_digits_titled_label_to_guess(digit):
    images = np.stack([digit] * 5)
    labels = np.array([1, 2, 3, 4, 5])
    guesses = np.array([1, 7, 3, 9, 5])
    fig = plots.misclassified(images, labels, guesses)
    shown = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in shown] == ["2 → 7", "4 → 9"]
    assert fig.get_suptitle().startswith("2 of 5 digits misclassified")
    _render(fig)


def test_misclassified_caps_the_grid_and_says_so(digit):
    fig = plots.misclassified(np.stack([digit] * 30), np.zeros(30, int), np.ones(30, int), max_digits=6, ncols=3)
    assert sum(bool(ax.images) for ax in fig.axes) == 6
    assert "the first 6" in fig.get_suptitle()


def test_misclassified_with_no_mistakes_says_so(digit):
    fig = plots.misclassified(np.stack([digit] * 3), np.arange(3), np.arange(3))
    assert "0 of 3" in fig.get_suptitle() and fig.axes[0].texts[0].get_text() == "no mistakes"
    _render(fig)


def test_misclassified_rejects_mismatched_labels(digit):
    with pytest.raises(ValueError, match=r"should have shape \(2,\), one per image"):
        plots.misclassified(np.stack([digit] * 2), np.arange(3), np.arange(2))


def test_importing_plots_loads_neither_matplotlib_nor_tensorflow():
    """The grader imports it from notebooks: it must cost no more than NumPy."""
    code = "import sys, course.plots; print(sorted(m for m in ('matplotlib', 'tensorflow') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


HISTORY = {"loss": [0.9, 0.5, 0.3], "val_loss": [0.8, 0.6, 0.5], "accuracy": [0.7, 0.85, 0.9],
           "val_accuracy": [0.72, 0.8, 0.84]}


class _History:  # what keras' model.fit returns, without importing Keras
    history = HISTORY


@pytest.mark.parametrize("history", [HISTORY, _History()])
def test_learning_curves_draw_cost_and_accuracy_for_training_and_validation(history):
    fig = plots.learning_curves(history)
    assert isinstance(fig, Figure)
    cost, acc = fig.axes
    assert [list(line.get_ydata()) for line in cost.lines] == [HISTORY["loss"], HISTORY["val_loss"]]
    assert [list(line.get_ydata()) for line in acc.lines] == [HISTORY["accuracy"], HISTORY["val_accuracy"]]
    assert list(cost.lines[0].get_xdata()) == [1, 2, 3]
    _render(fig)


def test_learning_curves_without_accuracy_draw_only_the_cost():
    fig = plots.learning_curves({"loss": [1.0, 0.5]})
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 1


@pytest.mark.parametrize("history, match", [
    ({"accuracy": [0.5]}, "should hold a 'loss' per epoch"),
    ({"loss": [1.0, 0.5], "val_loss": [1.0]}, "one value per epoch"),
])
def test_learning_curves_reject_bad_histories(history, match):
    with pytest.raises(ValueError, match=match):
        plots.learning_curves(history)


def test_confusion_matrix_counts_true_digits_against_readings():
    labels = np.array([0, 0, 1, 7, 7, 7])
    predictions = np.array([0, 6, 1, 7, 1, 7])
    fig = plots.confusion_matrix(labels, predictions)
    counts = fig.axes[0].images[0].get_array()
    assert counts.shape == (10, 10) and counts.sum() == 6
    assert counts[0, 0] == 1 and counts[0, 6] == 1 and counts[7, 7] == 2 and counts[7, 1] == 1
    assert fig.axes[0].get_title() == "4 of 6 right"
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["1", "1", "1", "1", "2"]
    _render(fig)


@pytest.mark.parametrize("labels, predictions, match", [
    (np.array([1, 2]), np.array([1]), "should both have shape"),
    (np.array([1, 12]), np.array([1, 2]), "'labels' should hold the digits 0..9"),
    (np.array([1, 2]), np.array([0.5, 2.0]), "'predictions' should hold the digits 0..9"),
])
def test_confusion_matrix_rejects_bad_input(labels, predictions, match):
    with pytest.raises(ValueError, match=match):
        plots.confusion_matrix(labels, predictions)


def test_weight_images_draw_one_symmetric_image_per_neuron():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(10, 784))
    fig = plots.weight_images(weights, columns=4)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 10 and len(fig.axes) == 12  # 3 rows of 4, two left empty
    image = visible[3].images[0]
    np.testing.assert_allclose(image.get_array(), weights[3].reshape(28, 28))
    assert image.get_clim() == (-np.abs(weights[3]).max(), np.abs(weights[3]).max())
    assert visible[3].get_title() == "neuron 3"
    _render(fig)


def test_weight_images_spot_a_keras_kernel():
    with pytest.raises(ValueError, match=r"received shape \(784, 16\): is it the Keras kernel\? pass W = kernel.T"):
        plots.weight_images(np.zeros((784, 16)))


def test_compare_runs_draws_one_line_per_run():
    fig = plots.compare_runs({"sigmoid": HISTORY, "relu": _History()})
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["sigmoid", "relu"]
    assert list(ax.lines[0].get_ydata()) == HISTORY["val_accuracy"]
    assert ax.get_ylabel() == "validation accuracy"
    with pytest.raises(ValueError, match="run 'x' has no 'val_loss' curve"):
        plots.compare_runs({"x": {"loss": [1.0]}}, key="val_loss")
    _render(fig)
