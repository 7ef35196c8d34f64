"""Read a saved ``.keras`` model without Keras: a plain stack of Dense layers, as NumPy arrays.

A ``.keras`` file is a zip of ``config.json`` (the architecture), ``metadata.json`` and
``model.weights.h5`` (the weights, HDF5). ``load_network`` reads it with ``zipfile``, ``json`` and
``h5py`` and accepts only what the course's networks are made of: a ``Sequential`` of Dense layers
(with an optional ``InputLayer``, ``Activation`` and ``Dropout`` layers) whose activations it
knows, with float weights of the shapes the configuration declares. Anything else is refused with
a ``KerasFileError`` saying why; nothing in the file is ever executed or deserialised into
objects, so a ``Lambda`` layer or a custom object is a reason to refuse, not a risk. It leaves out
everything a trained model doesn't need to predict: the optimizer's state, the compile settings
(only *whether* the model was compiled is kept), training-only layers' settings.

The forward pass follows the course's convention: a layer computes ``activation(W @ a + b)`` with
``W`` of shape ``(n_out, n_in)``; Keras stores the kernel as ``W.T``. Batches are rows, and the
arithmetic is done in the model's own float type, as Keras does.

h5py ships with Keras; a student install without Keras may lack it, and then only reading a file
fails, with a message naming what to install.
"""
from __future__ import annotations

import encodings.cp437  # noqa: F401  (zipfile decodes member names with it: loaded with this module, not on first use)
import io
import json
import os
import zipfile
from dataclasses import dataclass, field

import numpy as np

MEMBERS = ("config.json", "metadata.json", "model.weights.h5")
"""the files of a ``.keras`` zip, no more, no fewer"""
MAX_FILE_BYTES = 64 * 2**20
"""the most a ``.keras`` file may weigh"""
MAX_MEMBER_BYTES = {"config.json": 2**20, "metadata.json": 2**16, "model.weights.h5": 64 * 2**20}
"""the most each member may hold once uncompressed (checked before it is read, and while it is)"""
MAX_RATIO = 50
"""the most a compressed member may expand: a zip bomb's ratio is in the thousands"""
MAX_PARAMETERS = 4_000_000
"""a network bigger than this is not one of the course's (784-16-16-10 has 13,002)"""
ACTIVATIONS = ("linear", "sigmoid", "relu", "tanh", "softmax")
LAYERS = ("InputLayer", "Dense", "Activation", "Dropout")
"""the layers this reader knows; Dropout does nothing when predicting"""
DTYPES = ("float16", "float32", "float64")
INSTALL_HINT = "reading a .keras file needs h5py: pip install h5py (it comes with Keras: pip install keras)"


class KerasFileError(ValueError):
    """A model file this reader refuses; the message says why, readably."""


@dataclass
class Network:
    """A stack of dense layers in the course's convention.

    Attributes:
        weights: one ``(n_out, n_in)`` array per Dense layer (the Keras kernel transposed).
        biases: one ``(n_out,)`` array per Dense layer (zeros for a layer without biases).
        activations: one name per Dense layer, from ``ACTIVATIONS`` (an ``Activation`` layer
            after a linear Dense layer is folded into it).
        dtypes: the float type each Dense layer computes in, as Keras does (``"float32"`` by
            default; a layer casts its input to its own type).
        layers: the model's layers as ``course.models.describe`` lists them:
            ``[{"class", "units", "activation", "use_bias", "kernel_shape"}]``.
        compiled: whether the file carries compile settings (``model.compile`` was called).
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    activations: list[str]
    dtypes: list[str] = field(default_factory=list)
    layers: list[dict] = field(default_factory=list)
    compiled: bool = False

    @property
    def sizes(self) -> list[int]:
        """``[n_in, n_1, ..., n_out]``, e.g. ``[784, 16, 16, 10]``."""
        return [int(self.weights[0].shape[1])] + [int(W.shape[0]) for W in self.weights]

    @property
    def n_parameters(self) -> int:
        """What Keras's ``count_params()`` says: every weight and every bias actually stored."""
        return int(sum(layer["kernel_shape"][0] * layer["kernel_shape"][1] + (layer["units"] if layer["use_bias"] else 0)
                       for layer in self.layers if layer["class"] == "Dense"))

    def feedforward(self, x) -> np.ndarray:
        """The network's outputs, like Keras's ``model.predict(x)``.

        Args:
            x: ``(n_in,)`` or ``(batch, n_in)`` input activations.

        Returns:
            ``(n_out,)`` or ``(batch, n_out)`` outputs, in the last layer's float type.

        Raises:
            ValueError: ``x`` does not have ``n_in`` columns.
        """
        a = np.asarray(x)
        if a.ndim not in (1, 2) or a.shape[-1] != self.sizes[0]:
            raise ValueError(f"the input should have shape ({self.sizes[0]},) or (batch, {self.sizes[0]}); "
                             f"received shape {a.shape}")
        dtypes = self.dtypes or ["float32"] * len(self.weights)
        for W, b, name, dtype in zip(self.weights, self.biases, self.activations, dtypes):
            a = activate(name, a.astype(dtype, copy=False) @ W.T.astype(dtype, copy=False) + b.astype(dtype, copy=False))  # (batch, n_out): rows are examples, so W @ a becomes a @ W.T
        return a

    def predict(self, x) -> np.ndarray:
        """The digit (index of the largest output) for each row of ``x``, as A3's ``predict``."""
        return np.argmax(self.feedforward(x), axis=-1)

    def describe(self) -> dict:
        """The model as ``course.models.describe`` would describe the Keras model."""
        return {"type": "Sequential", "keras": True, "built": True, "compiled": self.compiled,
                "params": self.n_parameters, "layers": [dict(layer) for layer in self.layers]}


def activate(name: str, z: np.ndarray) -> np.ndarray:
    """Keras's activation ``name`` on ``z`` (softmax over the last axis), without overflow."""
    if name == "linear":
        return z
    if name == "sigmoid":
        return 0.5 * (1 + np.tanh(0.5 * z))  # = 1 / (1 + exp(-z)), with no exp to overflow
    if name == "relu":
        return np.maximum(z, 0)
    if name == "tanh":
        return np.tanh(z)
    if name == "softmax":
        e = np.exp(z - np.max(z, axis=-1, keepdims=True))  # the largest exponent is 0
        return e / np.sum(e, axis=-1, keepdims=True)
    raise KerasFileError(f"unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}")


def load_network(source: str | os.PathLike | bytes) -> Network:
    """Read a ``.keras`` file (a path or its bytes) into a ``Network``; never runs anything in it.

    Raises:
        KerasFileError: the file is not a ``.keras`` zip, or holds something other than a
            Sequential stack of known Dense layers with float weights (the message says what).
    """
    members = read_members(source)
    config = _json(members, "config.json")
    _json(members, "metadata.json")
    layers, compiled = parse_config(config)  # first: an unknown layer is refused by its name
    _check_modules(config)
    described = [_described(layer) for layer in layers if layer["class"] != "InputLayer"]  # as Keras lists them
    weights, biases = read_weights(members["model.weights.h5"], layers)  # folds Activation layers into Dense ones
    dense = [layer for layer in layers if layer["class"] == "Dense"]
    return Network(weights, biases, [layer["activation"] for layer in dense], [layer["dtype"] for layer in dense],
                   described, compiled)


def read_members(source: str | os.PathLike | bytes) -> dict[str, bytes]:
    """The three members of a ``.keras`` zip, each size-checked before and while it is read.

    Raises:
        KerasFileError: not a zip, too big, a member missing or extra, or one that expands too much.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        try:
            with open(source, "rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)
        except OSError as e:
            raise KerasFileError(f"the file could not be read: {e.strerror or e}") from None
    if len(data) > MAX_FILE_BYTES:
        raise KerasFileError(f"the file is larger than {MAX_FILE_BYTES // 2**20} MB; a saved 784-16-16-10 network is about 0.2 MB")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as e:
        raise KerasFileError(f"the file is not a .keras file (a zip archive): {e}") from None
    names = [info.filename for info in infos]
    extra = [n for n in names if n not in MEMBERS]
    missing = [n for n in MEMBERS if n not in names]
    if extra or missing or len(names) != len(set(names)):
        raise KerasFileError(f"the zip should hold exactly {', '.join(MEMBERS)} (what model.save writes); "
                             f"it holds {', '.join(repr(n) for n in names[:10]) or 'nothing'}")
    members = {}
    for info in infos:
        limit = MAX_MEMBER_BYTES[info.filename]
        if info.file_size > limit:
            raise KerasFileError(f"{info.filename} is {info.file_size:,} bytes uncompressed; at most {limit:,} are accepted")
        if info.compress_type != zipfile.ZIP_STORED and info.file_size > MAX_RATIO * max(info.compress_size, 1) + 1024:
            raise KerasFileError(f"{info.filename} expands {info.file_size / max(info.compress_size, 1):,.0f}-fold "
                                 "when uncompressed (a zip bomb?); model.save does not compress that much")
        try:
            with archive.open(info) as f:
                content = f.read(limit + 1)  # the header may lie: never read more than the limit
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, OSError, ValueError) as e:
            raise KerasFileError(f"{info.filename} could not be read from the zip: {e}") from None
        if len(content) > limit:
            raise KerasFileError(f"{info.filename} is larger than its header says; at most {limit:,} bytes are accepted")
        members[info.filename] = content
    return members


def _json(members: dict[str, bytes], name: str) -> dict:
    try:
        value = json.loads(members[name].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise KerasFileError(f"{name} is not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise KerasFileError(f"{name} should hold a JSON object; it holds a {type(value).__name__}")
    return value


def _check_modules(node, where: str = "config.json", depth: int = 0) -> None:
    """Refuse any object in the configuration that is not one of Keras's own (custom, registered,
    or a Python function): safe_mode refuses those, and this reader builds none of them anyway.

    The compile settings are left out: they are never read here (only whether there are any),
    and Keras loading with ``compile=False`` ignores them too, so a custom loss costs nothing.
    """
    if depth > 32:
        raise KerasFileError(f"{where} nests objects deeper than a saved model does")
    if isinstance(node, dict):
        if "module" in node or "class_name" in node:
            module, cls = node.get("module"), node.get("class_name")
            if not (isinstance(module, str) and (module == "keras" or module.startswith("keras."))):
                raise KerasFileError(f"{where} refers to {cls!r} from module {module!r}: only Keras's own layers "
                                     "are accepted (no custom objects, no Python code)")
            if node.get("registered_name") not in (None, cls):
                raise KerasFileError(f"{where} refers to a registered custom object {node.get('registered_name')!r}; "
                                     "only Keras's own layers are accepted")
        for key, value in node.items():
            if not (depth == 0 and key == "compile_config"):
                _check_modules(value, where, depth + 1)
    elif isinstance(node, list):
        for value in node:
            _check_modules(value, where, depth + 1)


_DENSE_KEYS = {"name", "trainable", "dtype", "units", "activation", "use_bias", "kernel_initializer",
               "bias_initializer", "kernel_regularizer", "bias_regularizer", "activity_regularizer",
               "kernel_constraint", "bias_constraint", "quantization_config", "lora_rank", "lora_alpha"}
_NULL_UNLESS = {"quantization_config": (None,), "lora_rank": (None, 0)}
"""Dense options that change what the stored weights mean: refused unless off"""
_OTHER_KEYS = {
    "InputLayer": {"name", "batch_shape", "batch_input_shape", "dtype", "sparse", "ragged", "optional", "input_tensor"},
    "Activation": {"name", "trainable", "dtype", "activation"},
    "Dropout": {"name", "trainable", "dtype", "rate", "seed", "noise_shape"},
}
_MODEL_KEYS = {"name", "trainable", "dtype", "layers", "build_input_shape"}
_TOP_KEYS = {"module", "class_name", "config", "registered_name", "build_config", "compile_config"}


def _dtype_name(value, where: str) -> str:
    """A layer's float type from its ``dtype`` entry (a name or a ``DTypePolicy``)."""
    if value is None:
        return "float32"
    if isinstance(value, dict):
        if value.get("class_name") != "DTypePolicy":
            raise KerasFileError(f"{where} has the dtype policy {value.get('class_name')!r}; only plain float "
                                 "policies are accepted (no mixed precision, no quantization)")
        value = (value.get("config") or {}).get("name")
    if value not in DTYPES:
        raise KerasFileError(f"{where} computes in {value!r}; accepted: {', '.join(DTYPES)}")
    return value


def parse_config(config: dict) -> tuple[list[dict], bool]:
    """The layers of ``config.json`` as ``{"class", "units", "activation", "use_bias", "dtype", "n_in"}``.

    Returns:
        (layers, whether compile settings were saved).

    Raises:
        KerasFileError: not a Sequential of known layers with known options.
    """
    unknown = set(config) - _TOP_KEYS
    if unknown:
        raise KerasFileError(f"config.json has entries this reader can't vouch for: {sorted(unknown)}")
    if config.get("class_name") != "Sequential":
        raise KerasFileError(f"config.json holds a {config.get('class_name')!r} model; save a keras.Sequential "
                             "(Dense layers only)")
    body = config.get("config")
    if not isinstance(body, dict) or not isinstance(body.get("layers"), list):
        raise KerasFileError("config.json has no list of layers")
    unknown = set(body) - _MODEL_KEYS
    if unknown:
        raise KerasFileError(f"the Sequential's configuration has entries this reader can't vouch for: {sorted(unknown)}")
    _dtype_name(body.get("dtype"), "the model")
    layers = [_layer(entry, i) for i, entry in enumerate(body["layers"])]  # first: a foreign layer is named
    inputs = [layer.pop("shape") for layer in layers if layer["class"] == "InputLayer"]
    n_in = _shape_size(inputs[0], "the InputLayer's shape") if inputs else _input_size(body, config)
    dense = [layer for layer in layers if layer["class"] == "Dense"]
    if not dense:
        raise KerasFileError("the model has no Dense layer")
    if n_in is None:
        raise KerasFileError("the model has no input size (it was never built); start the Sequential with "
                             "keras.Input(shape=(784,))")
    for layer in dense:
        layer["n_in"], n_in = n_in, layer["units"]
    if sum(layer["n_in"] * layer["units"] + layer["units"] for layer in dense) > MAX_PARAMETERS:
        raise KerasFileError(f"the model has more than {MAX_PARAMETERS:,} parameters; this is not a course network")
    return layers, bool(config.get("compile_config"))  # {} when model.compile was never called


def _shape_size(shape, what: str) -> int:
    if not (isinstance(shape, list) and len(shape) == 2 and shape[0] is None
            and isinstance(shape[1], int) and not isinstance(shape[1], bool) and 0 < shape[1] <= 100_000):
        raise KerasFileError(f"{what} is {shape!r}; the course's networks take flat rows, e.g. [null, 784]")
    return shape[1]


def _input_size(body: dict, config: dict) -> int | None:
    shape = body.get("build_input_shape") or (config.get("build_config") or {}).get("input_shape")
    return None if shape is None else _shape_size(shape, "the model's input shape")


def _layer(entry, i: int) -> dict:
    where = f"layer {i + 1}"
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise KerasFileError(f"{where} of config.json is not a layer configuration")
    kind = entry.get("class_name")
    if kind not in LAYERS:
        raise KerasFileError(f"the model has a {kind} layer; this reader accepts only "
                             f"{', '.join(LAYERS)} (a plain stack of Dense layers)")
    cfg = entry["config"]
    allowed = _DENSE_KEYS if kind == "Dense" else _OTHER_KEYS[kind]
    unknown = set(cfg) - allowed
    if unknown:
        raise KerasFileError(f"{where} ({kind}) has settings this reader can't vouch for: {sorted(unknown)}")
    if kind == "InputLayer":
        shape = cfg.get("batch_shape", cfg.get("batch_input_shape"))
        if cfg.get("sparse") or cfg.get("ragged") or cfg.get("input_tensor") is not None:
            raise KerasFileError(f"{where}: a sparse, ragged or tensor-fed input is not a course network's")
        return {"class": kind, "shape": shape}
    dtype = _dtype_name(cfg.get("dtype"), where)
    activation = cfg.get("activation", "linear")
    if kind in ("Dense", "Activation") and activation not in ACTIVATIONS:
        raise KerasFileError(f"{where} ({kind}) uses the activation {activation!r}; accepted: {', '.join(ACTIVATIONS)}")
    if kind == "Activation":
        return {"class": kind, "units": None, "activation": activation, "use_bias": False}
    if kind == "Dropout":
        return {"class": kind, "units": None, "activation": None, "use_bias": False}
    units = cfg.get("units")
    if not (isinstance(units, int) and not isinstance(units, bool) and 0 < units <= 100_000):
        raise KerasFileError(f"{where} (Dense) has units={units!r}; expected a positive integer")
    for key, allowed_values in _NULL_UNLESS.items():
        if cfg.get(key) not in allowed_values:
            raise KerasFileError(f"{where} (Dense) has {key}={cfg[key]!r}; its weights would not be a plain kernel")
    return {"class": kind, "units": units, "activation": activation, "use_bias": cfg.get("use_bias", True) is not False,
            "dtype": dtype}


def _described(layer: dict) -> dict:
    """One layer as ``course.models.describe`` lists it (the Dense kernel as Keras's ``(n_in, n_out)``)."""
    shape = [layer["n_in"], layer["units"]] if layer["class"] == "Dense" else None
    return {"class": layer["class"], "units": layer["units"], "activation": layer["activation"],
            "use_bias": layer["use_bias"], "kernel_shape": shape}


def h5py_module():
    """``h5py``, imported on first use.

    Raises:
        KerasFileError: h5py is not installed (the message says what to install).
    """
    try:
        import h5py
    except ImportError:
        raise KerasFileError(INSTALL_HINT) from None
    return h5py


def read_weights(data: bytes, layers: list[dict]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The Dense layers' weights from ``model.weights.h5``, course convention, with Activation
    layers folded in (the ``layers`` entries' ``activation`` updated).

    Keras stores a Sequential's layer state under ``layers/<class in snake_case>[_<n>]`` (the
    n-th layer of that class, counted from 0): ``layers/dense``, ``layers/dense_1``, ...; each
    Dense group holds ``vars/0`` (the kernel, ``(n_in, n_out)``) and ``vars/1`` (the bias).

    Raises:
        KerasFileError: not HDF5, a link or external storage, an unexpected group, a wrong
            shape or dtype, or weights that are not finite.
    """
    h5py = h5py_module()
    try:
        f = h5py.File(io.BytesIO(data), "r")
    except Exception as e:  # h5py raises OSError, ValueError... for a damaged file
        raise KerasFileError(f"model.weights.h5 is not a readable HDF5 file: {e}") from None
    try:
        with f:
            _check_tree(h5py, f, "model.weights.h5")
            unknown = set(f.keys()) - {"layers", "optimizer", "vars", "metrics"}
            if unknown:
                raise KerasFileError(f"model.weights.h5 has groups this reader can't vouch for: {sorted(unknown)}")
            stored = f["layers"] if "layers" in f else {}
            counts: dict[str, int] = {}
            expected = {}
            for layer in layers:
                if layer["class"] == "InputLayer":
                    continue
                snake = {"Dense": "dense", "Activation": "activation", "Dropout": "dropout"}[layer["class"]]
                n = counts.get(snake, 0)
                counts[snake] = n + 1
                expected[snake if n == 0 else f"{snake}_{n}"] = layer
            unknown = set(stored.keys()) - set(expected)
            if unknown:
                raise KerasFileError(f"model.weights.h5 holds weights for layers the configuration doesn't have: {sorted(unknown)}")
            weights, biases = [], []
            for name, layer in expected.items():
                if layer["class"] != "Dense":
                    if name in stored and _datasets(h5py, stored[name]):
                        raise KerasFileError(f"model.weights.h5 holds weights for layer {name!r}, which has none")
                    continue
                kernel_shape = (layer["n_in"], layer["units"])
                shapes = {"0": kernel_shape, **({"1": (layer["units"],)} if layer["use_bias"] else {})}
                group = stored[name] if name in stored else None
                arrays = group["vars"] if group is not None and "vars" in group else None
                if set(group.keys() if group is not None else ()) != {"vars"} or set(arrays.keys()) != set(shapes):
                    raise KerasFileError(f"model.weights.h5 should hold {len(shapes)} arrays for the Dense layer "
                                         f"{name!r} (layers/{name}/vars/0..{len(shapes) - 1}); it doesn't")
                kernel = _array(h5py, arrays["0"], kernel_shape, layer["dtype"], f"{name}'s kernel")
                bias = (_array(h5py, arrays["1"], shapes["1"], layer["dtype"], f"{name}'s bias") if layer["use_bias"]
                        else np.zeros(layer["units"], layer["dtype"]))
                weights.append(np.ascontiguousarray(kernel.T))  # course convention: W = kernel.T, (n_out, n_in)
                biases.append(bias)
    except KerasFileError:
        raise
    except Exception as e:  # a damaged file can fail anywhere in h5py
        raise KerasFileError(f"model.weights.h5 could not be read: {type(e).__name__}: {e}") from None
    _fold_activations(layers)
    return weights, biases


def _fold_activations(layers: list[dict]) -> None:
    """An ``Activation`` layer right after a linear Dense layer becomes that layer's activation;
    one anywhere else can't be expressed as a stack of Dense layers."""
    last = None
    for layer in layers:
        if layer["class"] == "Dense":
            last = layer
        elif layer["class"] == "Activation" and layer["activation"] != "linear":
            if last is None or last["activation"] != "linear":
                raise KerasFileError("the model has an Activation layer that doesn't follow a linear Dense layer")
            last["activation"] = layer["activation"]


def _datasets(h5py, group) -> list:
    found = []
    group.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None)
    return found


def _check_tree(h5py, group, where: str, depth: int = 0) -> None:
    """Refuse anything but plain groups and datasets stored in the file itself: no soft or
    external links, no external or virtual datasets (they would make h5py read other files)."""
    if depth > 8:
        raise KerasFileError(f"{where} nests groups deeper than a saved model does")
    if len(group) > 10_000:
        raise KerasFileError(f"{where} has {len(group):,} entries; a saved model has a few")
    for key in group:
        link = group.get(key, getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise KerasFileError(f"{where}/{key} is a {type(link).__name__}; model.save writes no links")
        obj = group[key]
        if isinstance(obj, h5py.Group):
            _check_tree(h5py, obj, f"{where}/{key}", depth + 1)
        elif isinstance(obj, h5py.Dataset):
            if obj.is_virtual or obj.external:
                raise KerasFileError(f"{where}/{key} refers to data outside the file; model.save stores it inside")
        else:
            raise KerasFileError(f"{where}/{key} is a {type(obj).__name__}, not a group or a dataset")


def _array(h5py, dataset, shape: tuple[int, ...], dtype: str, what: str) -> np.ndarray:
    """A dataset's values, after checking its shape and type (before reading any of it)."""
    if tuple(dataset.shape) != tuple(shape):
        raise KerasFileError(f"{what} has shape {tuple(dataset.shape)}; the configuration says {tuple(shape)}")
    if dataset.dtype.kind != "f" or dataset.dtype.name not in DTYPES:
        raise KerasFileError(f"{what} holds {dataset.dtype}; weights are floats ({', '.join(DTYPES)})")
    values = np.asarray(dataset[()]).astype(dtype)
    if not np.all(np.isfinite(values)):
        raise KerasFileError(f"{what} holds NaN or infinite values")
    return values
