"""Pictures for the notebooks: digits, parameter counts, activation functions, weights, a network's
activations, mistakes, training.

Plain NumPy and matplotlib, never TensorFlow, and no pyplot: each helper builds a
``matplotlib.figure.Figure`` (or draws on the ``ax`` you pass) and returns the figure, so it works
headless (Agg) and a notebook shows it exactly once, as the cell's value. Digits are drawn the
3Blue1Brown way: white ink on black, activation 0 = black, 1 = white.

matplotlib is imported on first use, so that importing this module (which the grader does when a
notebook says ``from course import plots``) costs no more than NumPy.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SIDE = 28
"""MNIST digits are 28x28 pixels, 784 activations when flattened row-major"""


def _new_figure(figsize) -> Figure:
    from matplotlib.figure import Figure  # not pyplot: no global state, no GUI backend

    return Figure(figsize=figsize, layout="constrained")


def _figure_and_axes(ax, figsize):
    """The figure to return and the axes to draw on: ``ax`` if given, else a new figure."""
    if ax is not None:
        return ax.figure, ax
    fig = _new_figure(figsize)
    return fig, fig.add_subplot()


def _as_image(image, name: str = "image") -> np.ndarray:
    """A (28, 28) float array in [0, 1] from (784,) or (28, 28) activations or uint8 pixels."""
    image = np.asarray(image)
    if image.shape not in ((SIDE * SIDE,), (SIDE, SIDE)):
        raise ValueError(f"{name!r} should have shape (784,) or (28, 28); received shape {image.shape}")
    image = image.reshape(SIDE, SIDE).astype(np.float64)
    if image.max(initial=0.0) > 1.0:  # pixels 0..255, not activations
        image = image / 255.0
    return image


def _no_ticks(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def show_digit(image, ax=None, title=None) -> Figure:
    """Show one digit in grayscale, white ink on black.

    Args:
        image: (784,) or (28, 28); activations in [0, 1], or pixels 0..255 (e.g. uint8), which are
            divided by 255.
        ax: a matplotlib Axes to draw on; by default a new figure.
        title: text above the digit, e.g. ``"label 7"``.

    Returns:
        The matplotlib Figure.

    Raises:
        ValueError: ``image`` does not hold 784 pixels.
    """
    fig, ax = _figure_and_axes(ax, (2.6, 2.6))
    ax.imshow(_as_image(image), cmap="gray", vmin=0.0, vmax=1.0)
    _no_ticks(ax)
    if title is not None:
        ax.set_title(title)
    return fig


def digits_row(images, titles=None, axes=None) -> Figure:
    """Show a few digits side by side, each with its title.

    Args:
        images: (n, 784) or (n, 28, 28), or a list of n digits; activations or pixels as in
            :func:`show_digit`.
        titles: n strings, or None.
        axes: n matplotlib Axes to draw on; by default a new figure with one row of n.

    Returns:
        The matplotlib Figure, with one Axes per digit.
    """
    images = list(images)
    titles = [None] * len(images) if titles is None else list(titles)
    if len(titles) != len(images):
        raise ValueError(f"'titles' should have one entry per image ({len(images)}); received {len(titles)}")
    if axes is None:
        fig = _new_figure((2.2 * len(images), 2.6))
        axes = np.atleast_1d(fig.subplots(1, len(images)))
    axes = list(axes)
    if len(axes) != len(images):
        raise ValueError(f"'axes' should have one Axes per image ({len(images)}); received {len(axes)}")
    for ax, image, title in zip(axes, images, titles):
        show_digit(image, ax=ax, title=title)
    return axes[0].figure


def sigmoid_vs_step(sigmoid=None, relu=None, ax=None) -> Figure:
    """Plot the step function and your activation functions for z in [-10, 10].

    A function that still raises ``NotImplementedError`` is skipped, and the title says so.

    Args:
        sigmoid: your ``sigmoid(z)``, called once on z of shape (401,); or None.
        relu: your ``relu(z)``, likewise; or None.
        ax: a matplotlib Axes to draw on; by default a new figure.

    Returns:
        The matplotlib Figure: one line for the step function, one per function drawn.

    Raises:
        ValueError: a function returned something other than 401 numbers.
    """
    fig, ax = _figure_and_axes(ax, (6.0, 3.6))
    z = np.linspace(-10.0, 10.0, 401)  # (401,)
    ax.plot(z, (z > 0).astype(np.float64), color="0.55", linestyle="--", label="step: 1 if z > 0 else 0")
    skipped = []
    for name, fn, color in (("sigmoid", sigmoid, "tab:blue"), ("relu", relu, "tab:orange")):
        if fn is None:
            continue
        try:
            y = np.asarray(fn(z.copy()), dtype=np.float64)
        except NotImplementedError:
            skipped.append(name)
            continue
        if y.shape != z.shape:
            raise ValueError(f"{name}(z) should return shape {z.shape} for z of shape {z.shape}; "
                             f"received shape {y.shape}")
        ax.plot(z, y, color=color, linewidth=2, label=f"your {name}(z)")
    ax.set_ylim(-0.25, 2.0)  # ReLU keeps climbing to 10; the interesting part is near [0, 1]
    ax.set_xlabel("z = w·a + b")
    ax.set_ylabel("activation")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    title = "Squishing the number line"
    if skipped:
        title += f"\n(skipped {', '.join(skipped)}: not implemented yet)"
    ax.set_title(title)
    return fig


NETWORK_PARAMETERS = 13002
"""the 784-16-16-10 network: 784*16 + 16*16 + 16*10 weights and 16 + 16 + 10 biases"""


def parameter_growth(quadratic_logistic_parameters=None, ax=None, pixels=None) -> Figure:
    """How many parameters a model of an n-pixel image needs, for n up to a 100x100 image.

    Draws plain logistic regression (n + 1) and your quadratic count, on log-log axes, with the
    784-16-16-10 network's 13,002 parameters for scale and the 28x28 and 50x50 images marked.

    Args:
        quadratic_logistic_parameters: your function ``f(n) -> int``, called for each n; or None.
            One that still raises ``NotImplementedError`` is skipped, and the title says so.
        ax: a matplotlib Axes to draw on; by default a new figure.
        pixels: the n to draw, increasing; by default 1 to 10,000.

    Returns:
        The matplotlib Figure.
    """
    fig, ax = _figure_and_axes(ax, (6.4, 3.8))
    n = np.unique(np.geomspace(1, 10_000, 60).astype(int)) if pixels is None else np.asarray(pixels)
    ax.plot(n, n + 1, color="0.45", linestyle="--", label="logistic regression on the pixels: n + 1")
    title = "Parameters against image size"
    if quadratic_logistic_parameters is not None:
        try:
            counts = np.array([quadratic_logistic_parameters(int(k)) for k in n], dtype=np.float64)
        except NotImplementedError:
            title += "\n(skipped quadratic_logistic_parameters: not implemented yet)"
        else:
            ax.plot(n, counts, color="tab:red", linewidth=2, label="with every product x_i·x_j (yours)")
    ax.axhline(NETWORK_PARAMETERS, color="tab:blue", linewidth=1.5,
               label=f"the 784-16-16-10 network: {NETWORK_PARAMETERS:,}")
    for k, name in ((784, "28×28"), (2500, "50×50")):
        if n.min() <= k <= n.max():
            ax.axvline(k, color="0.7", linewidth=1)
            ax.annotate(name, (k, 1), xytext=(3, 3), textcoords="offset points", fontsize=8, color="0.4")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("pixels n")
    ax.set_ylabel("parameters")
    ax.grid(alpha=0.3, which="major")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(title)
    return fig


def weights_over_digit(weights, image, ax=None) -> Figure:
    """Show a neuron's weights as a translucent coloured layer over a digit.

    Zero weights are left transparent; positive weights are green, negative pink.

    Args:
        weights: (784,) or (28, 28), one weight per pixel.
        image: (784,) or (28, 28), the digit, as in :func:`show_digit`.
        ax: a matplotlib Axes to draw on; by default a new figure.

    Returns:
        The matplotlib Figure, with two images (digit, weights) and a colour bar.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape not in ((SIDE * SIDE,), (SIDE, SIDE)):
        raise ValueError(f"'weights' should have shape (784,) or (28, 28); received shape {weights.shape}")
    weights = weights.reshape(SIDE, SIDE)
    fig, ax = _figure_and_axes(ax, (3.4, 2.8))
    show_digit(image, ax=ax)
    limit = float(np.abs(weights).max()) or 1.0
    layer = ax.imshow(np.ma.masked_equal(weights, 0.0), cmap="PiYG", vmin=-limit, vmax=limit, alpha=0.55)
    fig.colorbar(layer, ax=ax, fraction=0.046, pad=0.04, label="weight")
    ax.set_title("weights over the digit")
    return fig


def activations_bar(values, ax=None, labels=None) -> Figure:
    """A bar chart of a few activations in [0, 1], each bar labelled with its value.

    Args:
        values: (n,) activations.
        ax: a matplotlib Axes to draw on; by default a new figure.
        labels: n names for the bars, e.g. the digits; by default 0..n-1.

    Returns:
        The matplotlib Figure, with one bar per activation.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"'values' should have shape (n,); received shape {values.shape}")
    labels = [str(i) for i in range(values.size)] if labels is None else [str(s) for s in labels]
    if len(labels) != values.size:
        raise ValueError(f"'labels' should have {values.size} entries, one per value; received {len(labels)}")
    fig, ax = _figure_and_axes(ax, (0.6 * values.size + 1.5, 2.8))
    bars = ax.bar(np.arange(values.size), values, color="tab:blue", edgecolor="black")
    ax.bar_label(bars, fmt="%.2f", padding=2)
    ax.set_xticks(np.arange(values.size), labels)
    ax.set_ylim(0.0, 1.15)
    ax.set_ylabel("activation")
    return fig


def _as_batch(images, name: str = "images") -> np.ndarray:
    """(n, 784) float activations in [0, 1] from (n, 784) or (n, 28, 28) activations or pixels."""
    images = np.asarray(images)
    if images.ndim not in (2, 3) or images.shape[1:] not in ((SIDE * SIDE,), (SIDE, SIDE)):
        raise ValueError(f"{name!r} should have shape (n, 784) or (n, 28, 28); received shape {images.shape}")
    images = images.reshape(len(images), SIDE * SIDE).astype(np.float64)
    return images / 255.0 if images.max(initial=0.0) > 1.0 else images


def network_flow(image, activations, labels=None) -> Figure:
    """A digit and the activations of every layer as it flows through the network.

    Each layer is a column of neurons drawn as circles, black (0) to white (1), as in 3Blue1Brown's
    video; the output layer's brightest neuron, the network's guess, is ringed in orange.

    Args:
        image: (784,) or (28, 28), the digit fed to the network, as in :func:`show_digit`.
        activations: one (n,) array per layer after the input, e.g. shapes (16,), (16,), (10,).
        labels: names for the output neurons; by default 0..n-1 (the digits).

    Returns:
        The matplotlib Figure: the digit on the left, then one column of circles per layer.

    Raises:
        ValueError: a layer's activations are not a flat array, or the labels don't match.
    """
    layers = [np.asarray(a, dtype=np.float64) for a in activations]
    for i, a in enumerate(layers):
        if a.ndim != 1:
            raise ValueError(f"activations[{i}] should have shape (n,), one layer for one digit; "
                             f"received shape {a.shape}")
    if not layers:
        raise ValueError("'activations' should hold at least one layer")
    out = layers[-1]
    labels = [str(i) for i in range(out.size)] if labels is None else [str(s) for s in labels]
    if len(labels) != out.size:
        raise ValueError(f"'labels' should have {out.size} entries, one per output neuron; received {len(labels)}")
    fig = _new_figure((2.6 + 1.5 * len(layers), 4.2))
    grid = fig.add_gridspec(1, 2, width_ratios=[2.6, 1.5 * len(layers)])
    show_digit(image, ax=fig.add_subplot(grid[0]), title="input: 784 pixels")
    ax = fig.add_subplot(grid[1])
    tallest = max(a.size for a in layers)
    for x, a in enumerate(layers):
        y = np.linspace(0, tallest - 1, a.size) if a.size > 1 else np.array([(tallest - 1) / 2])
        y = y[::-1]  # first neuron at the top
        ax.scatter(np.full(a.size, x), y, c=np.clip(a, 0, 1), cmap="gray", vmin=0.0, vmax=1.0, s=110,
                   edgecolors="0.55", linewidths=0.8, zorder=2)
        name = "output" if x == len(layers) - 1 else f"hidden {x + 1}"
        ax.text(x, tallest + 0.3, f"{name}\n({a.size})", ha="center", va="bottom", fontsize=9)
    guess = int(np.argmax(out))
    y_out = np.linspace(0, tallest - 1, out.size)[::-1] if out.size > 1 else np.array([(tallest - 1) / 2])
    ax.scatter([len(layers) - 1], [y_out[guess]], s=260, facecolors="none", edgecolors="tab:orange",
               linewidths=2.0, zorder=3)
    for label, y, value in zip(labels, y_out, out):
        ax.text(len(layers) - 1 + 0.25, y, f"{label}  {value:.2f}", va="center", fontsize=8)
    ax.set_xlim(-0.5, len(layers) - 0.2)
    ax.set_ylim(-1, tallest + 1.6)
    ax.set_axis_off()
    fig.suptitle(f"the network's guess: {labels[guess]}")
    return fig


def misclassified(images, labels, guesses, max_digits: int = 24, ncols: int = 8) -> Figure:
    """A grid of the digits the network gets wrong, each titled "label → guess".

    Args:
        images: (n, 784) or (n, 28, 28) digits, as in :func:`show_digit`.
        labels: (n,) the true digits.
        guesses: (n,) the network's guesses.
        max_digits: show at most this many (the first ones, in order).
        ncols: digits per row.

    Returns:
        The matplotlib Figure, one Axes per wrong digit shown; its title counts all the mistakes.
    """
    images = _as_batch(images)
    labels, guesses = np.asarray(labels), np.asarray(guesses)
    if labels.shape != (len(images),) or guesses.shape != (len(images),):
        raise ValueError(f"'labels' and 'guesses' should have shape ({len(images)},), one per image; "
                         f"received {labels.shape} and {guesses.shape}")
    wrong = np.flatnonzero(labels != guesses)
    shown = wrong[:max_digits]
    title = f"{len(wrong)} of {len(images)} digits misclassified"
    if len(shown) == 0:
        fig = _new_figure((4.0, 1.2))
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no mistakes", ha="center", va="center")
        fig.suptitle(title)
        return fig
    ncols = max(1, min(ncols, len(shown)))
    nrows = -(-len(shown) // ncols)
    fig = _new_figure((1.5 * ncols, 1.7 * nrows + 0.4))
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for ax, i in zip(axes, shown):
        show_digit(images[i], ax=ax)
        ax.set_title(f"{labels[i]} → {guesses[i]}", fontsize=9, color="tab:red")
    for ax in axes[len(shown):]:
        ax.set_axis_off()
    fig.suptitle(f"{title} (label → guess)" + (f"; the first {len(shown)}" if len(wrong) > len(shown) else ""))
    return fig


def learning_curves(history) -> Figure:
    """Plot the cost and the accuracy after each epoch, on the training and validation digits.

    Args:
        history: what ``model.fit`` returns (a Keras ``History``; its ``.history`` is used), or a
            dict of lists, one number per epoch: ``"loss"`` and optionally ``"val_loss"``,
            ``"accuracy"``, ``"val_accuracy"``.

    Returns:
        The matplotlib Figure: the cost on the left, the accuracy on the right (when recorded).

    Raises:
        ValueError: there is no ``"loss"``, or the curves have different lengths.
    """
    curves = getattr(history, "history", history)
    if not isinstance(curves, dict) or not curves.get("loss"):
        raise ValueError(f"'history' should hold a 'loss' per epoch; received keys {sorted(curves or {})}")
    epochs = len(curves["loss"])
    lengths = {k: len(v) for k, v in curves.items() if k in ("loss", "val_loss", "accuracy", "val_accuracy")}
    if any(n != epochs for n in lengths.values()):
        raise ValueError(f"every curve should have one value per epoch ({epochs}); received lengths {lengths}")
    panels = [("loss", "cost")] + ([("accuracy", "accuracy")] if "accuracy" in curves else [])
    fig = _new_figure((4.2 * len(panels), 3.2))
    x = np.arange(1, epochs + 1)
    for ax, (key, label) in zip(np.atleast_1d(fig.subplots(1, len(panels))), panels):
        ax.plot(x, curves[key], marker="o", markersize=3, label="training digits")
        if f"val_{key}" in curves:
            ax.plot(x, curves[f"val_{key}"], marker="o", markersize=3, label="validation digits")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def confusion_matrix(labels, predictions, ax=None) -> Figure:
    """Show how often each digit (row) was read as each digit (column); the diagonal is right.

    Args:
        labels: (n,) the true digits, 0..9.
        predictions: (n,) the digits the network read, 0..9.
        ax: a matplotlib Axes to draw on; by default a new figure.

    Returns:
        The matplotlib Figure: a 10x10 image of the counts, each cell labelled with its count.

    Raises:
        ValueError: the arrays differ in shape or hold something other than the digits 0..9.
    """
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.shape != predictions.shape or labels.ndim != 1:
        raise ValueError(f"'labels' and 'predictions' should both have shape (n,); received shapes "
                         f"{labels.shape} and {predictions.shape}")
    for name, values in (("labels", labels), ("predictions", predictions)):
        if values.size and (values.dtype.kind not in "iu" or values.min() < 0 or values.max() > 9):
            raise ValueError(f"{name!r} should hold the digits 0..9 as integers; received dtype {values.dtype}")
    counts = np.zeros((10, 10), dtype=np.int64)
    np.add.at(counts, (labels, predictions), 1)  # counts[true, read] += 1
    fig, ax = _figure_and_axes(ax, (5.0, 4.4))
    ax.imshow(counts, cmap="Blues")
    for (i, j), n in np.ndenumerate(counts):
        if n:
            ax.text(j, i, str(n), ha="center", va="center", fontsize=7,
                    color="white" if n > counts.max() / 2 else "black")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("read as")
    ax.set_ylabel("true digit")
    ax.set_title(f"{np.trace(counts)} of {labels.size} right")
    return fig


def weight_images(weights, titles=None, columns: int = 8) -> Figure:
    """Show each neuron's 784 incoming weights as a 28x28 image: green positive, pink negative.

    Args:
        weights: (n, 784), one row per neuron: the first layer's ``W`` in the course's
            ``(n_out, n_in)`` convention (a Keras kernel is ``W.T``).
        titles: n strings, or None for "neuron 0", "neuron 1", ...
        columns: images per row.

    Returns:
        The matplotlib Figure, one Axes per neuron, each scaled to its own largest |weight|.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[1] != SIDE * SIDE:
        tip = ": is it the Keras kernel? pass W = kernel.T" if weights.shape[:1] == (SIDE * SIDE,) else ""
        raise ValueError(f"'weights' should have shape (n, 784); received shape {weights.shape}{tip}")
    n = weights.shape[0]
    titles = [f"neuron {i}" for i in range(n)] if titles is None else list(titles)
    if len(titles) != n:
        raise ValueError(f"'titles' should have one entry per neuron ({n}); received {len(titles)}")
    rows = -(-n // columns)
    fig = _new_figure((1.5 * min(n, columns), 1.6 * rows))
    axes = np.atleast_1d(fig.subplots(rows, min(n, columns))).ravel()
    for ax, w, title in zip(axes, weights, titles):
        limit = float(np.abs(w).max()) or 1.0
        ax.imshow(w.reshape(SIDE, SIDE), cmap="PiYG", vmin=-limit, vmax=limit)
        ax.set_title(title, fontsize=8)
        _no_ticks(ax)
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig


def compare_runs(runs, key: str = "val_accuracy", ax=None) -> Figure:
    """Plot one learning curve of several training runs on the same axes, to compare them.

    Args:
        runs: ``{name: history}``, each a Keras ``History`` or a dict of per-epoch lists as in
            :func:`learning_curves`.
        key: which curve to draw, e.g. ``"val_accuracy"`` or ``"loss"``.
        ax: a matplotlib Axes to draw on; by default a new figure.

    Returns:
        The matplotlib Figure, one line per run.

    Raises:
        ValueError: a run did not record ``key``.
    """
    fig, ax = _figure_and_axes(ax, (5.0, 3.2))
    for name, history in runs.items():
        curves = getattr(history, "history", history)
        if not isinstance(curves, dict) or not curves.get(key):
            raise ValueError(f"run {name!r} has no {key!r} curve; it recorded {sorted(curves or {})}")
        ax.plot(np.arange(1, len(curves[key]) + 1), curves[key], marker="o", markersize=3, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(key.replace("val_", "validation ").replace("_", " "))
    ax.grid(alpha=0.3)
    ax.legend()
    return fig
