"""A NumPy stand-in for a trained ``keras.Sequential`` of ``Dense`` layers: its weights, nothing else.

The lessons read a trained Keras model's weights the Keras way, ``model.layers[i].get_weights()``
(or ``model.get_weights()``). TensorFlow is slow to import and the grader's sandbox has none, so the
course carries the same weights in a ``KerasLikeModel`` that answers those calls with the same NumPy
arrays, in Keras's layout (kernels ``(n_in, n_out)``). Code written for one works on the other.

What it mimics (Keras 3): ``model.layers``, ``model.get_weights()``, ``model.count_params()``,
``model.name``; per layer ``get_weights() -> [kernel, bias]``, ``units``, ``name``,
``count_params()`` and ``get_config()`` (``name``, ``units``, ``activation``). What it leaves out:
everything else. In particular it has no forward pass: computing the output is the student's job.

It is also how a model travels to the grader's sandbox: ``to_plain``/``from_plain`` turn it into
plain data (strings, ints, arrays) and back, checking every field, so no code ever rides along.
"""
from __future__ import annotations

import numpy as np

ACTIVATIONS = ("sigmoid", "relu", "linear", "softmax")


class KerasLikeDense:
    """The weights of one ``keras.layers.Dense``: ``activation(a @ kernel + bias)``."""

    def __init__(self, kernel, bias, *, activation: str = "sigmoid", name: str = "dense"):
        kernel = np.array(kernel)
        bias = np.array(bias)
        if kernel.ndim != 2 or kernel.dtype.kind != "f":
            raise ValueError(f"a Dense kernel should be a 2-D float array (n_in, n_out); received "
                             f"shape {kernel.shape} and dtype {kernel.dtype}")
        if bias.shape != (kernel.shape[1],) or bias.dtype.kind != "f":
            raise ValueError(f"the bias should have shape ({kernel.shape[1]},), one per unit; received "
                             f"shape {bias.shape} and dtype {bias.dtype}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation should be one of {', '.join(ACTIVATIONS)}; received {activation!r}")
        kernel.flags.writeable = bias.flags.writeable = False
        self._kernel, self._bias = kernel, bias
        self.activation_name = str(activation)
        self.name = str(name)

    @property
    def units(self) -> int:
        """The number of neurons, n_out."""
        return int(self._kernel.shape[1])

    def get_weights(self) -> list[np.ndarray]:
        """``[kernel, bias]``, fresh copies: kernel (n_in, n_out), bias (n_out,), as in Keras."""
        return [self._kernel.copy(), self._bias.copy()]

    def count_params(self) -> int:
        return int(self._kernel.size + self._bias.size)

    def get_config(self) -> dict:
        return {"name": self.name, "units": self.units, "activation": self.activation_name}

    def __repr__(self) -> str:
        n_in, n_out = self._kernel.shape
        return f"<KerasLikeDense {self.name!r}: {n_in} -> {n_out}, {self.activation_name}>"


class KerasLikeModel:
    """The weights of a ``keras.Sequential`` of Dense layers, readable the way Keras reads them."""

    def __init__(self, layers: list[KerasLikeDense], *, name: str = "sequential"):
        layers = list(layers)
        if not layers or not all(type(layer) is KerasLikeDense for layer in layers):
            raise ValueError("a KerasLikeModel needs a non-empty list of KerasLikeDense layers")
        for i, (before, after) in enumerate(zip(layers, layers[1:]), start=1):
            n_in = after._kernel.shape[0]
            if n_in != before.units:
                raise ValueError(f"layer {i} expects {n_in} inputs but layer {i - 1} has {before.units} units")
        self.layers = layers
        self.name = str(name)

    @property
    def sizes(self) -> list[int]:
        """Neurons per layer, input first, e.g. ``[784, 16, 16, 10]``."""
        return [int(self.layers[0]._kernel.shape[0])] + [layer.units for layer in self.layers]

    def get_weights(self) -> list[np.ndarray]:
        """``[kernel_0, bias_0, kernel_1, bias_1, ...]``, as ``keras.Model.get_weights()``."""
        return [w for layer in self.layers for w in layer.get_weights()]

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def __repr__(self) -> str:
        sizes = "-".join(str(n) for n in self.sizes)
        kinds = ", ".join(dict.fromkeys(layer.activation_name for layer in self.layers))
        return f"<KerasLikeModel {self.name!r}: {sizes}, {kinds}; {self.count_params():,} parameters>"

    @classmethod
    def from_keras(cls, model) -> "KerasLikeModel":
        """Copy the weights of a real Keras ``Sequential`` of ``Dense`` layers (read-only use of it)."""
        layers = []
        for layer in model.layers:
            weights = layer.get_weights()
            if len(weights) != 2:
                raise ValueError(f"layer {layer.name!r} is not a Dense layer with a bias")
            activation = layer.get_config().get("activation", "linear")
            layers.append(KerasLikeDense(*weights, activation=activation, name=layer.name))
        return cls(layers, name=model.name)

    def to_plain(self) -> dict:
        """Plain data: ``{"name", "layers": [{"name", "activation", "kernel", "bias"}, ...]}``."""
        return {"name": self.name, "layers": [
            {"name": layer.name, "activation": layer.activation_name, "kernel": layer._kernel, "bias": layer._bias}
            for layer in self.layers]}

    @classmethod
    def from_plain(cls, plain) -> "KerasLikeModel":
        """The model described by ``to_plain``'s output.

        Raises:
            ValueError: anything else (wrong keys or types, bad shapes, unknown activation).
        """
        if not isinstance(plain, dict) or set(plain) != {"name", "layers"} or not isinstance(plain["layers"], list):
            raise ValueError("a model should be {'name': str, 'layers': [...]}")
        layers = []
        for layer in plain["layers"]:
            if not isinstance(layer, dict) or set(layer) != {"name", "activation", "kernel", "bias"}:
                raise ValueError("a layer should be {'name', 'activation', 'kernel', 'bias'}")
            if not all(isinstance(layer[k], str) for k in ("name", "activation")) or \
                    not all(type(layer[k]) is np.ndarray for k in ("kernel", "bias")):
                raise ValueError("a layer's name and activation should be strings, its weights arrays")
            layers.append(KerasLikeDense(layer["kernel"], layer["bias"], activation=layer["activation"],
                                         name=layer["name"]))
        if not isinstance(plain["name"], str):
            raise ValueError("a model's name should be a string")
        return cls(layers, name=plain["name"])
