"""Import TensorFlow and Keras without a word on stderr.

TensorFlow's C++ (absl) logging writes to file descriptor 2 at import time whatever
``TF_CPP_MIN_LOG_LEVEL`` says, and nbgrader (among others) treats any stderr output as a failure.
So the import runs with fd 2 pointed at /dev/null, and Python-side loggers are turned down.

Importing this module costs nothing: TensorFlow is imported only when ``keras()`` is called. The
grader uses it for its references; a lesson notebook may call it in a cell that shows a real Keras
layer, never in a graded function (the grader's sandbox has no TensorFlow).
"""
from __future__ import annotations

import contextlib
import os
import sys

from course import extras

QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",  # also keeps float results identical run to run
    "KERAS_BACKEND": "tensorflow",
    "CUDA_VISIBLE_DEVICES": "",
}


@contextlib.contextmanager
def stderr_silenced():
    """Point file descriptor 2 at /dev/null for the duration (C++ logging included)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_initialized = False


def keras(*, initialize: bool = True):
    """The ``keras`` module, imported quietly (TensorFlow backend, CPU only).

    Args:
        initialize: also run a first operation, which starts TensorFlow's runtime (and its thread
            pools) while stderr is silenced. A process that will ``fork`` children that use
            TensorFlow must pass False: a child forked after the runtime started inherits its
            threads' locks and can hang.

    Raises:
        extras.MissingExtra: TensorFlow or Keras is not installed (``pip install 'digits-course[keras]'``).
    """
    global _initialized
    if "keras" in sys.modules and "tensorflow" in sys.modules and (_initialized or not initialize):
        return sys.modules["keras"]
    extras.require("keras", "course.quiet.keras()")  # a student install without [keras]: one line
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    with stderr_silenced():
        import tensorflow as tf
        import keras as _keras

        tf.get_logger().setLevel("ERROR")
        tf.autograph.set_verbosity(0)
        if initialize:
            tf.constant(0.0) + 1.0  # the first op initialises the runtime, which logs too
            _initialized = True
    return _keras
