"""Sample ``digits.keras`` files for A4: the reference model, trained as its notebook trains it, and
wrong or hostile ones (``HOSTILE_FILES``: zip bombs, custom objects, links out of the HDF5 file...),
for the sample class (demo, tests) and the benchmark.

The recipe has one source of truth, the solution notebook: its ``build_model()`` and the constants
``EPOCHS``, ``BATCH_SIZE`` and ``VALIDATION_SPLIT``, loaded the way the grader loads a submission.
Training takes a while, so the trained reference file is cached, keyed by everything it depends on.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np

from course import source
from course.data import load_mnist
from grader.authoring import solutions
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


def rezip(base: Path, target: Path, *, replace: dict[str, bytes] | None = None, extra: dict[str, bytes] | None = None,
           compression: int = zipfile.ZIP_STORED) -> Path:
    """``base`` (a ``.keras`` zip) written to ``target`` with some members replaced or added."""
    with zipfile.ZipFile(base) as z:
        members = {info.filename: z.read(info) for info in z.infolist()}
    members.update(replace or {})
    members.update(extra or {})
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return target


def edited_config(base: Path, edit) -> bytes:
    with zipfile.ZipFile(base) as z:
        config = json.loads(z.read("config.json"))
    edit(config)
    return json.dumps(config).encode()


def edited_weights(base: Path, edit) -> bytes:
    """``model.weights.h5`` of ``base`` after ``edit(h5py.File)``."""
    import h5py

    with zipfile.ZipFile(base) as z:
        data = z.read("model.weights.h5")
    buffer = io.BytesIO(data)
    with h5py.File(buffer, "r+") as f:
        edit(f)
    return buffer.getvalue()


def dense_configs(config: dict) -> list[dict]:
    return [layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense"]


def _write(target: Path, data: bytes) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def _link_out(f) -> None:
    """Make the first bias a link to a dataset in another file."""
    import h5py

    del f["layers/dense/vars/1"]
    f["layers/dense/vars/1"] = h5py.ExternalLink("/etc/passwd", "/secret")


def _replace_dataset(f, path: str, **kwargs) -> None:
    del f[path]
    f.create_dataset(path, **kwargs)


HOSTILE_FILES = {
    "extra_member": lambda base, t: rezip(base, t, extra={"assets/run_me.py": b"import os\nos.system('id')\n"}),
    "zip_bomb": lambda base, t: rezip(base, t, replace={"model.weights.h5": bytes(60 * 2**20)},
                                      compression=zipfile.ZIP_DEFLATED),
    "not_a_zip": lambda base, t: _write(t, b"PK\x03\x04" + bytes(500)),
    "malformed_hdf5": lambda base, t: rezip(base, t, replace={"model.weights.h5": b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 40}),
    "custom_object": lambda base, t: rezip(base, t, replace={"config.json": edited_config(base, lambda c: dense_configs(c)[0].update(
        module="evil.layers", registered_name="Custom>Dense"))}),
    "custom_activation": lambda base, t: rezip(base, t, replace={"config.json": edited_config(base, lambda c: dense_configs(c)[0][
        "config"].update(activation={"module": "builtins", "class_name": "function", "config": "print",
                                     "registered_name": "function"}))}),
    "functional_model": lambda base, t: rezip(base, t, replace={"config.json": edited_config(base, lambda c: c.update(
        class_name="Functional"))}),
    "unknown_setting": lambda base, t: rezip(base, t, replace={"config.json": edited_config(base, lambda c: dense_configs(c)[0][
        "config"].update(call_hook="os.system"))}),
    "mixed_precision": lambda base, t: rezip(base, t, replace={"config.json": edited_config(base, lambda c: dense_configs(c)[0][
        "config"].update(dtype={"module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_float16"},
                                "registered_name": None}))}),
    "nan_weights": lambda base, t: rezip(base, t, replace={"model.weights.h5": edited_weights(base, lambda f: _replace_dataset(
        f, "layers/dense/vars/1", data=np.full(16, np.nan, np.float32)))}),
    "integer_weights": lambda base, t: rezip(base, t, replace={"model.weights.h5": edited_weights(base, lambda f: _replace_dataset(
        f, "layers/dense/vars/0", data=np.ones((784, 16), np.int32)))}),
    "shape_mismatch": lambda base, t: rezip(base, t, replace={"model.weights.h5": edited_weights(base, lambda f: _replace_dataset(
        f, "layers/dense_1/vars/0", data=np.ones((16, 17), np.float32)))}),
    "external_link": lambda base, t: rezip(base, t, replace={"model.weights.h5": edited_weights(base, _link_out)}),
    "external_storage": lambda base, t: rezip(base, t, replace={"model.weights.h5": edited_weights(base, lambda f: _replace_dataset(
        f, "layers/dense/vars/1", shape=(16,), dtype=np.float32, external=[("/etc/hostname", 0, 64)]))}),
    "extra_weights": lambda base, t: rezip(base, t, replace={"model.weights.h5": edited_weights(base, lambda f: f.create_dataset(
        "layers/lambda/vars/0", data=np.ones(3, np.float32)))}),
}
"""Model files a grader must refuse, each made from a good ``.keras`` file (``hostile_file``)"""


def hostile_file(kind: str, base: Path, folder: Path) -> Path:
    """``folder/digits.keras``: the good model file ``base`` made hostile in the way ``kind`` names
    (a key of ``HOSTILE_FILES``)."""
    return HOSTILE_FILES[kind](Path(base), Path(folder) / "digits.keras")


def with_layer(folder: Path, layer: str = "Flatten") -> Path:
    """An (untrained) model that Keras reads fine but has a layer that is not Dense (a Flatten)."""
    k = keras()
    model = k.Sequential([k.Input(shape=(28, 28)), getattr(k.layers, layer)(), k.layers.Dense(16, activation="sigmoid"),
                          k.layers.Dense(16, activation="sigmoid"), k.layers.Dense(10, activation="softmax")])
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "digits.keras")
    return folder / "digits.keras"
