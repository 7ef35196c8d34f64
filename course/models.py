"""Keras models as plain data, for the A4 checks: what a model is made of, and what it computes.

A Keras model can't travel from a sandboxed child to the grader (it is an object, and a model
file can even carry code), so these *adapters* run where the model lives and return plain data
(``course.codec``): a description of the layers and the outputs on given inputs. The trusted side
judges that data (``course.exercises.a4_digits``). They run in the sandbox child when grading and
in the student's own process for the self-check; they never see a reference answer.

Keras is imported only when a model is actually inspected, so importing this module costs NumPy.
The course's weight convention is ``W`` of shape ``(n_out, n_in)``; a Keras ``Dense`` kernel is
``W.T``.
"""
from __future__ import annotations

import functools
import sys

import numpy as np

from course.calls import safe_str


def _keras_model_class():
    """``keras.Model``, if Keras was imported (a Keras model can't exist otherwise)."""
    keras = sys.modules.get("keras")
    return getattr(keras, "Model", None)


def _activation_name(layer) -> str | None:
    fn = getattr(layer, "activation", None)
    if fn is None:
        return None
    name = getattr(fn, "__name__", None)
    return name if isinstance(name, str) else type(fn).__name__


def _layer(layer) -> dict:
    kernel = getattr(layer, "kernel", None) if getattr(layer, "built", False) else None
    units = getattr(layer, "units", None)
    return {
        "class": type(layer).__name__,
        "units": units if isinstance(units, int) else None,
        "activation": _activation_name(layer),
        "use_bias": bool(getattr(layer, "use_bias", False)),
        "kernel_shape": [int(d) for d in kernel.shape] if kernel is not None else None,
    }


def describe(model) -> dict:
    """A model's architecture as plain data.

    Returns:
        ``{"type": str, "keras": bool, "built": bool, "compiled": bool, "params": int | None,
        "layers": [{"class", "units", "activation", "use_bias", "kernel_shape"}]}``; ``keras``
        says whether ``model`` is a ``keras.Model`` at all (then the rest is empty).
    """
    model_class = _keras_model_class()
    info = {"type": type(model).__name__, "keras": bool(model_class and isinstance(model, model_class)),
            "built": False, "compiled": False, "params": None, "layers": []}
    if not info["keras"]:
        return info
    info["built"] = bool(getattr(model, "built", False))
    info["compiled"] = bool(getattr(model, "compiled", False))
    info["layers"] = [_layer(layer) for layer in model.layers]
    if info["built"]:
        info["params"] = int(model.count_params())
    return info


def _dense_layers(model) -> list:
    return [layer for layer in model.layers if type(layer).__name__ == "Dense"]


def outputs_with_weights(model, weights, biases, x) -> np.ndarray:
    """The model's outputs on ``x`` after loading course-convention weights into its Dense layers.

    Args:
        model: a built Keras model whose Dense layers match ``weights``.
        weights: list of ``(n_out, n_in)`` arrays, one per Dense layer.
        biases: list of ``(n_out,)`` arrays.
        x: ``(batch, n_in)`` inputs.

    Returns:
        ``(batch, n_out)`` outputs as a NumPy float64 array.

    Raises:
        ValueError: the Dense layers' kernels do not have the shapes of ``W.T``.
    """
    dense = _dense_layers(model)
    shapes = [list(layer.kernel.shape) for layer in dense]
    wanted = [[int(w.shape[1]), int(w.shape[0])] for w in weights]
    if shapes != wanted:
        raise ValueError(f"the Dense kernels have shapes {shapes}; expected {wanted}")
    for layer, W, b in zip(dense, weights, biases):
        layer.set_weights([np.asarray(W).T, np.asarray(b)])  # Keras kernel = W.T
    return np.asarray(model(np.asarray(x, dtype=np.float32), training=False), dtype=np.float64)


def built_model(build_model, weights, biases, x) -> dict:
    """Adapter for ``build_model()``: call it, describe the model, run it with the given weights.

    Args:
        build_model: the student's function, called without arguments.
        weights, biases, x: as in :func:`outputs_with_weights`; used only when the model's
            Dense layers have the right shapes.

    Returns:
        ``{"model": describe(model), "outputs": (batch, n_out) array or None, "problem": str}``;
        ``problem`` says why there are no outputs.
    """
    model = build_model()
    info = describe(model)
    result = {"model": info, "outputs": None, "problem": ""}
    if not info["keras"] or not info["built"]:
        return result
    try:
        result["outputs"] = outputs_with_weights(model, weights, biases, x)
    except Exception as e:  # a wrong layout: the architecture check will say what is wrong
        result["problem"] = safe_str(e, 300)
    return result


@functools.lru_cache(maxsize=2)
def mnist_test_inputs(dtype: str = "float32") -> np.ndarray:
    """The 10,000 MNIST test digits as a saved model is evaluated on them, (10000, 784) in [0, 1].

    ``x / 255.0`` cast to ``dtype``, the model's first layer's float type, as Keras's ``predict``
    casts it. Cached and read-only: a fork server computes it once and its children share it.
    """
    from course.data import load_mnist

    (_, _), (x_test, _) = load_mnist()
    x = (x_test.reshape(-1, 784) / 255.0).astype(dtype)
    x.flags.writeable = False
    return x


def saved_model(path) -> dict:
    """Adapter for a saved model file (``digits.keras``): read it safely, predict the MNIST test set.

    The file is read by ``course.kerasfile`` (zip, JSON and HDF5 readers, no Keras, no code from
    the file ever run) and its predictions are computed in NumPy, as Keras would compute them.

    Returns:
        ``{"model": describe(model), "outputs": (10000, n_out) array or None, "problem": str}``.
    """
    from course import kerasfile

    result = {"model": None, "outputs": None, "problem": ""}
    try:
        network = kerasfile.load_network(path)
    except kerasfile.KerasFileError as e:
        result["problem"] = f"was refused: {str(e)[:400]}"  # our own message: no need for its type
        return result
    result["model"] = network.describe()
    try:
        result["outputs"] = np.asarray(network.feedforward(mnist_test_inputs(network.dtypes[0])))
    except ValueError as e:
        result["problem"] = f"could not predict 784-pixel digits: {safe_str(e, 300)}"
    return result
