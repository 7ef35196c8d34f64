"""Sample ``digits.keras`` files for A4: the reference model, trained as its notebook trains it, and
wrong or hostile ones, for the sample class (demo, tests) and the benchmark.

The recipe has one source of truth, the solution notebook: its ``build_model()`` and the constants
``EPOCHS``, ``BATCH_SIZE`` and ``VALIDATION_SPLIT``, loaded the way the grader loads a submission.
Training takes a while, so the trained reference file is cached, keyed by everything it depends on.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import numpy as np

from course import source
from course.data import load_mnist
from grader import solutions
from grader.quiet import keras

ASSIGNMENT = "a4_digits"


def cache_dir() -> Path:
    """Where trained sample models are kept: ``$DIGITS_COURSE_CACHE`` or ``~/.cache/digits-course``."""
    return Path(os.environ.get("DIGITS_COURSE_CACHE") or Path.home() / ".cache" / "digits-course")


def solution_namespace() -> dict:
    """The A4 solution notebook's definitions, run like a submission's (Keras imported quietly first)."""
    keras()
    namespace, notes = source.execute(source.load_definitions(solutions.notebook_path(ASSIGNMENT)))
    if notes:
        raise RuntimeError(f"the {ASSIGNMENT} solution notebook's definitions failed: {notes}")
    return namespace


def training_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """MNIST as the notebook uses it: (n, 784) activations in [0, 1] and labels."""
    (x_train, y_train), (x_test, y_test) = load_mnist()
    return (x_train.reshape(-1, 784) / 255.0, y_train), (x_test.reshape(-1, 784) / 255.0, y_test)


def train_reference(*, epochs: int | None = None, seed: int = 0):
    """Build the solution's model and fit it as the notebook does.

    Args:
        epochs: fewer epochs than the notebook's ``EPOCHS`` give a weaker model (None: the notebook's).
        seed: ``keras.utils.set_random_seed`` before building, as in the notebook.

    Returns:
        (model, history, seconds spent in ``fit``).
    """
    k = keras()
    ns = solution_namespace()
    (x_train, y_train), _ = training_data()
    k.utils.set_random_seed(seed)
    model = ns["build_model"]()
    start = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=epochs or ns["EPOCHS"], batch_size=ns["BATCH_SIZE"],
                        validation_split=ns["VALIDATION_SPLIT"], verbose=0)
    return model, history, time.perf_counter() - start


def _recipe_key() -> str:
    imports, constants, functions = solutions.program_sources(solutions.notebook_path(ASSIGNMENT))
    h = hashlib.sha256()
    for part in (*constants, functions["build_model"], keras().__version__):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def reference_file() -> Path:
    """The reference model, trained with the notebook's recipe, as a cached ``digits.keras``."""
    path = cache_dir() / f"digits-{_recipe_key()}.keras"
    if not path.is_file():
        model, _, _ = train_reference()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.keras")
        model.save(partial)
        os.replace(partial, path)
    return path


def copy_reference(folder: Path) -> Path:
    """Put the reference ``digits.keras`` into a submission folder."""
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(reference_file(), folder / "digits.keras"))


def undertrained(folder: Path, *, epochs: int = 1) -> Path:
    """The solution's model after only ``epochs`` epochs: a test accuracy below the full-credit bar."""
    model, _, _ = train_reference(epochs=epochs)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "digits.keras")
    return folder / "digits.keras"


def _sequential(layers):
    k = keras()
    return k.Sequential([k.Input(shape=(784,)), *layers])


def wrong_architecture(folder: Path, *, hidden: str = "relu", sizes=(16, 16)) -> Path:
    """An (untrained) model of the wrong kind: ReLU hidden layers, or other layer sizes."""
    k = keras()
    model = _sequential([k.layers.Dense(n, activation=hidden) for n in sizes] + [k.layers.Dense(10, activation="softmax")])
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "digits.keras")
    return folder / "digits.keras"


def with_lambda(folder: Path, marker: Path) -> Path:
    """A hostile model file: a ``Lambda`` layer whose Python code creates ``marker`` when it runs.

    Building the model runs the lambda once, here; the marker is removed before returning, so it
    exists afterwards only if something deserialised and ran the layer's code.
    """
    k = keras()
    code = eval(f"lambda x: (open({str(marker)!r}, 'a').close(), x)[1]")  # noqa: S307 (our own literal)
    model = _sequential([k.layers.Lambda(code), k.layers.Dense(16, activation="sigmoid"),
                         k.layers.Dense(16, activation="sigmoid"), k.layers.Dense(10, activation="softmax")])
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "digits.keras")
    Path(marker).unlink(missing_ok=True)
    return folder / "digits.keras"


def measured_accuracy(path: Path) -> float:
    """The test accuracy of a model file we made ourselves (trusted: never a student's file)."""
    model = keras().saving.load_model(path, safe_mode=True, compile=False)
    _, (x_test, y_test) = training_data()
    return float(np.mean(np.argmax(model.predict(x_test, verbose=0), axis=1) == y_test))


def artifacts(assignment_id: str) -> dict[str, Path]:
    """The correct files a sample submission of ``assignment_id`` carries (``{}`` when none)."""
    return {"digits.keras": reference_file()} if assignment_id == ASSIGNMENT else {}
