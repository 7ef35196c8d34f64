"""The small pre-trained 784-16-16-10 network that ships with the course, loadable without TensorFlow.

``load()`` returns its weights as a :class:`course.keraslike.KerasLikeModel`, which answers
``model.layers[i].get_weights()`` exactly like the real Keras model in ``KERAS_PATH`` does (that
file is for the one lesson cell that uses Keras itself). Both were written by
``python -m grader.authoring.train_reference_model`` (sigmoid neurons in every layer, a few epochs of
MNIST); a test checks that they hold the same weights.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from course.keraslike import KerasLikeDense, KerasLikeModel

MODELS = Path(__file__).with_name("models")
KERAS_PATH = MODELS / "digits_784_16_16_10.keras"
"""the Keras model file: ``keras.models.load_model(KERAS_PATH)``"""
NPZ_PATH = MODELS / "digits_784_16_16_10.npz"
"""the same weights as NumPy arrays: ``kernel_0``, ``bias_0``, ... (Keras layout)"""
ACTIVATION = "sigmoid"
"""every layer of the shipped network is made of sigmoid neurons"""


def load(path: str | Path = NPZ_PATH) -> KerasLikeModel:
    """The pre-trained network's weights, read like a Keras model's (``model.layers[i].get_weights()``).

    Args:
        path: an ``.npz`` with ``kernel_i`` (n_in, n_out) and ``bias_i`` (n_out,) for i = 0, 1, ...

    Returns:
        A ``KerasLikeModel`` with one sigmoid Dense layer per kernel.

    Raises:
        FileNotFoundError: no such file. ValueError: the arrays don't form a network.
    """
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    n_layers = sum(k.startswith("kernel_") for k in arrays)
    if n_layers == 0 or set(arrays) != {f"{kind}_{i}" for i in range(n_layers) for kind in ("kernel", "bias")}:
        raise ValueError(f"{path} should hold kernel_0, bias_0, kernel_1, ...; it holds {', '.join(sorted(arrays))}")
    layers = [KerasLikeDense(arrays[f"kernel_{i}"], arrays[f"bias_{i}"], activation=ACTIVATION, name=f"dense_{i}")
              for i in range(n_layers)]
    return KerasLikeModel(layers, name=Path(path).stem)
