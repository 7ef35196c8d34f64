"""Train the small pre-trained 784-16-16-10 network that ships in ``course/models/``.

    python -m grader.authoring.train_reference_model        # about 20 s on 2 CPU cores

It is the network of the lessons (3Blue1Brown / Nielsen): sigmoid neurons in every layer, so
the output layer's ten activations are in (0, 1) and the brightest one is the guess. Trained
with Adam on the binary cross-entropy of the one-hot labels, a few epochs on the 60,000 MNIST
training digits; reproducible with ``--seed`` (``keras.utils.set_random_seed`` and TensorFlow's
deterministic ops). It writes two files with the same weights:

- ``digits_784_16_16_10.keras``: the Keras model, for the lesson cell that uses real Keras;
- ``digits_784_16_16_10.npz``: the same weights as NumPy arrays in Keras's layout (``kernel_0``,
  ``bias_0``, ...; kernels are ``(n_in, n_out)``), so students load them without TensorFlow
  (``course.pretrained.load()``).

It does not aim for a good digit recognizer (A4 trains that), only a quick, honest one.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from course import pretrained
from course.data import load_mnist
from grader.quiet import keras

SIZES = (784, 16, 16, 10)


def build(k):
    """The untrained 784-16-16-10 sigmoid network."""
    return k.Sequential([k.Input((SIZES[0],))] + [
        k.layers.Dense(n, activation="sigmoid", name=f"dense_{i}") for i, n in enumerate(SIZES[1:])
    ], name="digits_784_16_16_10")


def train(*, seed: int = 0, epochs: int = 5, batch_size: int = 32, learning_rate: float = 3e-3):
    """Train on MNIST; returns ``(model, test_accuracy)``."""
    k = keras()
    import tensorflow as tf

    k.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    (x_train, y_train), (x_test, y_test) = load_mnist()
    x_train = x_train.reshape(-1, 784).astype("float32") / 255.0
    x_test = x_test.reshape(-1, 784).astype("float32") / 255.0
    model = build(k)
    model.compile(optimizer=k.optimizers.Adam(learning_rate), loss="binary_crossentropy",
                  metrics=["categorical_accuracy"])
    model.fit(x_train, np.eye(10, dtype="float32")[y_train], epochs=epochs, batch_size=batch_size,
              shuffle=True, verbose=0)
    _, accuracy = model.evaluate(x_test, np.eye(10, dtype="float32")[y_test], verbose=0)
    return model, float(accuracy)


def save(model, folder: Path) -> tuple[Path, Path]:
    """Write the ``.keras`` file (weights only, not compiled) and the matching ``.npz``."""
    folder.mkdir(parents=True, exist_ok=True)
    keras_path = folder / pretrained.KERAS_PATH.name
    npz_path = folder / pretrained.NPZ_PATH.name
    plain = build(keras())  # uncompiled: loading it needs no optimizer and warns about nothing
    plain.set_weights(model.get_weights())
    plain.save(keras_path)
    model = plain
    arrays = {}
    for i, layer in enumerate(model.layers):
        kernel, bias = layer.get_weights()
        arrays[f"kernel_{i}"], arrays[f"bias_{i}"] = kernel, bias
    np.savez(npz_path, **arrays)
    return keras_path, npz_path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--out", type=Path, default=pretrained.KERAS_PATH.parent)
    args = p.parse_args(argv)
    start = time.perf_counter()
    model, accuracy = train(seed=args.seed, epochs=args.epochs)
    paths = save(model, args.out)
    print(f"trained {model.count_params()} parameters in {time.perf_counter() - start:.1f} s; "
          f"test accuracy {accuracy:.4f}; wrote {', '.join(map(str, paths))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
