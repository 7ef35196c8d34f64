"""Draw a digit and watch a network read it: ``course explore``, or ``course.explore()`` in a notebook.

A small local web app (``server``) shows a network's every layer lighting up as you draw; the
drawing is made into an MNIST-style digit first (``preprocess``). The network is the course's
pre-trained 784-16-16-10 one, or yours (``network``):

    import course
    course.explore(weights, biases)                   # in a notebook: shown inline, kernel free
    course.explore.save_weights("mine.npz", weights, biases)   # then: course explore --weights mine.npz

``course.explore`` is this package *and* the function :func:`explore` (the package is callable),
so both ``course.explore(...)`` and ``from course.explore import explore`` work.

What it leaves out: a notebook on a remote server (JupyterHub, Colab) can't show it inline,
since the page is served on the machine running the kernel, at 127.0.0.1.
"""
from __future__ import annotations

import html
import sys
import types

from course.explore.network import Network, from_model, load_weights, pretrained, save_weights

__all__ = ["explore", "save_weights", "load_weights", "Network", "Exploring"]

_running = None
"""the server this process started last: exploring again replaces it"""


class Exploring:
    """A running explorer, shown inline by Jupyter (an iframe). ``stop()`` ends it."""

    def __init__(self, server, *, height: int):
        self.server = server
        self.url = server.url
        self.height = height

    def _repr_html_(self) -> str:
        return (f'<iframe src="{html.escape(self.url)}" width="100%" height="{self.height}" '
                f'style="border: 1px solid #ccc; border-radius: 6px" title="course explore"></iframe>'
                f'<p style="font-size: smaller">Not showing? Open <a href="{html.escape(self.url)}" '
                f'target="_blank">{html.escape(self.url)}</a> in a browser on this machine.</p>')

    def __repr__(self) -> str:
        return f"<course.explore at {self.url}>"

    def stop(self) -> None:
        self.server.stop()


def network_from(weights=None, biases=None, *, activations=None, model=None) -> Network:
    """The network to explore: given arrays, a model (object or file), or the pre-trained one."""
    from pathlib import Path

    from course.explore.network import from_keras_file

    if model is not None and weights is not None:
        raise ValueError("give either weights and biases or model, not both")
    if isinstance(model, (str, Path)):
        return from_keras_file(model) if str(model).endswith(".keras") else load_weights(model)
    if model is not None:
        return from_model(model)
    if isinstance(weights, (str, Path)):
        return load_weights(weights)
    if weights is None and biases is None:
        return pretrained()
    if weights is None or biases is None:
        raise ValueError("give both weights and biases (or neither, for the pre-trained network)")
    return Network.build(weights, biases, activations)


def explore(weights=None, biases=None, *, activations=None, model=None, port: int = 0,
            height: int = 760) -> Exploring:
    """Start the explorer in the background and show it inline (in Jupyter) for a network.

    Args:
        weights: list of (n_out, n_in) arrays, the course convention, 784 inputs and 10 outputs
            (or a path to an ``.npz`` written by :func:`save_weights`). None: the course's
            pre-trained network.
        biases: list of (n_out,) arrays.
        activations: one name per layer, "sigmoid" (default), "relu", "softmax" or "linear".
        model: instead of weights and biases, a Keras model of Dense layers (or
            ``course.pretrained.load()``), or a path to a ``.keras`` or ``.npz`` file.
        port: 0 for any free port.
        height: of the inline frame, in pixels.

    Returns:
        An :class:`Exploring` handle (``.url``, ``.stop()``); Jupyter displays it as the page.
    """
    global _running
    from course.explore.server import ExploreServer

    network = network_from(weights, biases, activations=activations, model=model)
    if _running is not None:
        _running.stop()
    _running = Exploring(ExploreServer(network, port=port).start(), height=height)
    return _running


class _CallableModule(types.ModuleType):
    """``course.explore(...)`` calls :func:`explore`, though ``course.explore`` is a package."""

    def __call__(self, *args, **kwargs):
        return explore(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
