"""The network being explored: its weights in the course convention, and every layer's activations.

A network is ``weights[l]`` of shape ``(n_out, n_in)`` and ``biases[l]`` of shape ``(n_out,)``
(the lessons' ``activation(W @ a + b)``; a Keras kernel is ``W.T``), plus one activation name per
layer: ``sigmoid`` (the course's network), ``relu``, ``softmax``, ``linear`` or ``tanh``.

Saved networks are ``.npz`` files (``np.savez``, read with ``allow_pickle=False``) holding
``weights_0, biases_0, weights_1, biases_1, ...`` in the course convention and optionally
``activations``, an array of names, one per layer (sigmoid everywhere if absent).
:func:`save_weights` writes one; ``kernel_i``/``bias_i`` files (Keras layout, like the course's
own ``course/models/digits_784_16_16_10.npz``) are read too. A ``.keras`` file is read without
TensorFlow by ``course.kerasfile``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course import kerasfile  # its activations serve both a saved model and the explorer (one forward pass)

ACTIVATIONS = ("sigmoid", "relu", "softmax", "linear", "tanh")


@dataclass(frozen=True)
class Network:
    """A fully connected network, sizes e.g. 784-16-16-10.

    Attributes:
        weights: one (n_out, n_in) float64 array per layer.
        biases: one (n_out,) float64 array per layer.
        activations: one name per layer, from ``ACTIVATIONS``.
        name: what to call it on the page (where it came from).
    """

    weights: tuple
    biases: tuple
    activations: tuple
    name: str = "network"

    @classmethod
    def build(cls, weights, biases, activations=None, *, name: str = "your network") -> "Network":
        """Check and copy a network given as lists of arrays (the course convention).

        Raises:
            ValueError: saying which array has the wrong shape, or which activation is unknown.
        """
        if not isinstance(weights, (list, tuple)) or not isinstance(biases, (list, tuple)) or not weights:
            raise ValueError("a network is two lists, weights (one (n_out, n_in) array per layer) and "
                             f"biases; received {type(weights).__name__} and {type(biases).__name__}")
        if len(weights) != len(biases):
            raise ValueError(f"there should be one bias vector per weight matrix; received {len(weights)} "
                             f"weight matrices and {len(biases)} bias vectors")
        activations = ["sigmoid"] * len(weights) if activations is None else [str(a) for a in activations]
        if len(activations) != len(weights):
            raise ValueError(f"there should be one activation per layer ({len(weights)}); received {activations}")
        ws, bs = [], []
        for l, (W, b, act) in enumerate(zip(weights, biases, activations)):
            W, b = np.array(W, dtype=np.float64), np.array(b, dtype=np.float64)
            n_in = 784 if l == 0 else ws[-1].shape[0]
            if W.ndim != 2 or W.shape[1] != n_in:
                raise ValueError(f"weights[{l}] should have shape (n_out, {n_in}); received shape {W.shape}"
                                 + (" (a Keras kernel? the course's W is kernel.T)" if W.ndim == 2
                                    and W.shape[0] == n_in else ""))
            if b.shape != (W.shape[0],):
                raise ValueError(f"biases[{l}] should have shape ({W.shape[0]},); received shape {b.shape}")
            if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
                raise ValueError(f"layer {l}'s weights or biases hold NaN or infinity")
            if act not in ACTIVATIONS:
                raise ValueError(f"activation {l} should be one of {', '.join(ACTIVATIONS)}; received {act!r}")
            ws.append(W)
            bs.append(b)
        if ws[-1].shape[0] != 10:
            raise ValueError(f"the last layer should have 10 neurons, one per digit; it has {ws[-1].shape[0]}")
        return cls(tuple(ws), tuple(bs), tuple(activations), name)

    @property
    def sizes(self) -> list[int]:
        """Neurons per layer, input first: ``[784, 16, 16, 10]``."""
        return [784] + [int(W.shape[0]) for W in self.weights]

    def forward(self, x: np.ndarray) -> list[np.ndarray]:
        """Every layer's activations for input ``x`` (784,) or (batch, 784).

        Returns:
            ``[a_1, ..., a_L]``: one (n_l,) (or (batch, n_l)) array per layer after the input;
            ``a_L`` is the output, ``argmax`` of it the guess.
        """
        a = np.asarray(x, dtype=np.float64)
        out = []
        for W, b, name in zip(self.weights, self.biases, self.activations):
            a = kerasfile.activate(name, a @ W.T + b)  # (batch, n_out): rows are examples, W @ a per row
            out.append(a)
        return out


def pretrained() -> Network:
    """The course's pre-trained 784-16-16-10 sigmoid network (``course.pretrained``)."""
    from course import pretrained as shipped

    model = shipped.load()
    return from_model(model, name="the course's pre-trained network")


def from_model(model, *, name: str | None = None) -> Network:
    """A network read from a Keras model (or ``course.keraslike.KerasLikeModel``) of Dense layers.

    Uses only ``model.layers``, ``layer.get_weights() -> [kernel, bias]`` and
    ``layer.get_config()["activation"]``, so a real Keras model and the stand-in both work.
    """
    weights, biases, activations = [], [], []
    for layer in model.layers:
        params = layer.get_weights()
        if len(params) != 2:
            raise ValueError(f"layer {getattr(layer, 'name', '?')!r} is not a Dense layer with a bias; only "
                             "networks of Dense layers can be explored")
        weights.append(np.asarray(params[0]).T)  # Keras kernel (n_in, n_out) -> W (n_out, n_in)
        biases.append(np.asarray(params[1]))
        activations.append(layer.get_config().get("activation", "linear"))
    return Network.build(weights, biases, activations, name=name or f"model {getattr(model, 'name', '')}".strip())


def save_weights(path, weights, biases, activations=None) -> Path:
    """Save a network for ``course explore --weights FILE``.

    Args:
        path: where to write, e.g. ``"my_network.npz"``.
        weights: list of (n_out, n_in) arrays, the course convention (A3's ``weights_from_keras``,
            A4's ``train``).
        biases: list of (n_out,) arrays.
        activations: one name per layer (default: sigmoid everywhere).

    Returns:
        The path written. The file holds ``weights_0, biases_0, ...`` and ``activations``.

    Raises:
        ValueError: the arrays don't form a 784-...-10 network.
    """
    network = Network.build(weights, biases, activations)
    arrays = {f"{kind}_{l}": a for l, (W, b) in enumerate(zip(network.weights, network.biases))
              for kind, a in (("weights", W), ("biases", b))}
    path = Path(path)
    with open(path, "wb") as f:  # a file object: np.savez would otherwise append ".npz"
        np.savez(f, activations=np.array(network.activations), **arrays)
    return path


def load_weights(path) -> Network:
    """Read a network saved by :func:`save_weights` (or a ``kernel_i``/``bias_i`` file, Keras layout).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not an ``.npz`` of that layout (the message lists what it holds).
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as e:
        raise ValueError(f"{path} is not a readable .npz file ({e})") from None
    n = sum(k.startswith(("weights_", "kernel_")) for k in arrays)
    course = {f"{kind}_{l}" for l in range(n) for kind in ("weights", "biases")}
    keras = {f"{kind}_{l}" for l in range(n) for kind in ("kernel", "bias")}
    names = set(arrays) - {"activations"}
    if n and names == course:
        weights = [arrays[f"weights_{l}"] for l in range(n)]
        biases = [arrays[f"biases_{l}"] for l in range(n)]
    elif n and names == keras:
        weights = [arrays[f"kernel_{l}"].T for l in range(n)]  # Keras kernel = W.T
        biases = [arrays[f"bias_{l}"] for l in range(n)]
    else:
        raise ValueError(f"{path} should hold weights_0, biases_0, weights_1, ... (as written by "
                         f"course.explore.save_weights); it holds {', '.join(sorted(arrays)) or 'nothing'}")
    activations = arrays.get("activations")
    if activations is not None:
        activations = [str(a) for a in np.atleast_1d(activations)]
    return Network.build(weights, biases, activations, name=path.name)


def from_keras_file(path) -> Network:
    """Read a saved ``digits.keras`` without TensorFlow (``course.kerasfile``, which refuses
    anything but a Sequential of Dense layers, and never runs code from the file).

    Raises:
        FileNotFoundError: no such file. ValueError: a file that can't be explored (the reason).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    loaded = kerasfile.load_network(path)
    return Network.build(list(loaded.weights), list(loaded.biases), list(loaded.activations), name=path.name)
