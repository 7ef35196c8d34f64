"""Turn a drawing into a digit the way MNIST's were made: crop, fit 20×20, centre by mass in 28×28.

LeCun, Cortes and Burges describe it on the MNIST page: each NIST digit was "size normalized to
fit in a 20x20 pixel box while preserving their aspect ratio", anti-aliased (hence the grey
levels), then "centered in a 28x28 image by computing the center of mass of the pixels, and
translating the image so as to position this point at the center of the 28x28 field". A network
trained on MNIST has only ever seen digits like that, so a drawing must be made into one before
it is read. In NumPy, with no image library: the resampling is an antialiased triangle (bilinear)
filter, written as one small matrix per axis. What it leaves out: deslanting, stroke thickening.
"""
from __future__ import annotations

import numpy as np

SIZE = 28
"""the side of an MNIST image"""
BOX = 20
"""the ink is scaled to fit a BOX × BOX square, keeping its aspect ratio"""
CENTRE = 14.0
"""where the centre of mass lands (row and column index): MNIST's training digits average 14.0"""
INK = 0.05
"""pixels darker than this (on 0..1) are background when cropping: stray anti-aliasing dust"""


class EmptyImageError(ValueError):
    """The image has no ink: there is nothing to read."""


def as_grey(image) -> np.ndarray:
    """An image as float64 ink in [0, 1] (1 = full ink, as MNIST's 255).

    Args:
        image: (height, width) array-like of numbers, either in [0, 1] or in [0, 255] (uint8 or
            any array whose largest value is above 1).

    Raises:
        ValueError: not a non-empty 2-D array of finite numbers.
    """
    try:
        grey = np.asarray(image, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("the image should be a 2-D array of numbers (height, width); received "
                         f"{type(image).__name__}") from None
    if grey.ndim != 2 or grey.size == 0:
        raise ValueError(f"the image should be a 2-D array (height, width); received shape {grey.shape}")
    if not np.all(np.isfinite(grey)):
        raise ValueError("the image should hold finite numbers; it holds NaN or infinity")
    if np.asarray(image).dtype == np.uint8 or grey.max() > 1:
        grey = grey / 255.0
    return np.clip(grey, 0.0, 1.0)


def resample_matrix(n_in: int, n_out: int) -> np.ndarray:
    """The (n_out, n_in) matrix that resizes one axis with an antialiased triangle filter.

    Output pixel i covers input coordinates [i, i + 1) · n_in / n_out. Its value is a weighted
    mean of the input pixels whose centres lie within one output pixel (or one input pixel when
    enlarging) of its centre, nearer ones weighing more: bilinear interpolation when enlarging,
    area-like averaging (no aliasing) when shrinking, as Pillow's ``Image.resize(BILINEAR)``.
    """
    scale = n_in / n_out
    support = max(scale, 1.0)  # shrinking widens the filter to cover every input pixel
    centres = (np.arange(n_out) + 0.5) * scale  # (n_out,) in input coordinates
    distance = np.abs(np.arange(n_in)[None, :] + 0.5 - centres[:, None]) / support  # (n_out, n_in)
    weights = np.clip(1.0 - distance, 0.0, None)
    return weights / weights.sum(axis=1, keepdims=True)


def _resample_rows(matrix: np.ndarray, image: np.ndarray) -> np.ndarray:
    """``matrix @ image`` for a banded resampling matrix (n_out, n_in) and ``image`` (n_in, w).

    Each output row mixes only the few input rows under its filter, so it is computed from those
    alone: less work, and products small enough that OpenBLAS doesn't spread them over threads
    (for a 280-pixel pad, one ``matrix @ image`` is; on a busy machine that cost 10x the CPU).
    """
    out = np.empty((matrix.shape[0], image.shape[1]))
    for i, row in enumerate(matrix):
        used = np.flatnonzero(row)
        out[i] = row[used[0]:used[-1] + 1] @ image[used[0]:used[-1] + 1]
    return out


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` (h, w) resampled to (height, width), antialiased (see :func:`resample_matrix`).

    That is ``R_rows @ image @ R_cols.T``, one resampling matrix per axis.
    """
    rows = _resample_rows(resample_matrix(image.shape[0], height), image)  # (height, w)
    return _resample_rows(resample_matrix(image.shape[1], width), rows.T).T  # (height, width)


def crop(grey: np.ndarray) -> np.ndarray:
    """The smallest rectangle of ``grey`` (h, w) holding every pixel with ink above ``INK``.

    Raises:
        EmptyImageError: no pixel has ink.
    """
    rows = np.flatnonzero((grey > INK).any(axis=1))
    cols = np.flatnonzero((grey > INK).any(axis=0))
    if rows.size == 0:
        raise EmptyImageError("the image has no ink: draw a digit first")
    return grey[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the ink's centre of mass; the image must have some ink."""
    total = image.sum()
    rows = image.sum(axis=1) @ np.arange(image.shape[0]) / total
    cols = image.sum(axis=0) @ np.arange(image.shape[1]) / total
    return float(rows), float(cols)


def mnist_like(image) -> np.ndarray:
    """A drawing made into an MNIST digit: what the network should be shown.

    Args:
        image: (height, width) ink, any size (see :func:`as_grey`), e.g. a 280×280 canvas.

    Returns:
        (28, 28) float64 array in [0, 1]: the ink cropped, scaled so that its longer side is 20
        pixels (aspect ratio kept, antialiased), placed so that its centre of mass is at
        (14, 14), as far as the 28×28 frame allows. Its ``reshape(784)`` is the network's input.

    Raises:
        EmptyImageError: the image has no ink (a ``ValueError``).
        ValueError: ``image`` is not a 2-D array of finite numbers.
    """
    ink = crop(as_grey(image))
    h, w = ink.shape
    scale = BOX / max(h, w)
    fitted = resize(ink, max(1, round(h * scale)), max(1, round(w * scale)))  # longer side: BOX
    if fitted.max() > 0:
        fitted = fitted * (ink.max() / fitted.max())  # thin strokes keep their full darkness
    row, col = centre_of_mass(fitted)
    # MNIST translated by whole pixels; keep every pixel of ink inside the frame
    top = int(np.clip(round(CENTRE - row), 0, SIZE - fitted.shape[0]))
    left = int(np.clip(round(CENTRE - col), 0, SIZE - fitted.shape[1]))
    digit = np.zeros((SIZE, SIZE))
    digit[top:top + fitted.shape[0], left:left + fitted.shape[1]] = fitted
    return np.clip(digit, 0.0, 1.0)
