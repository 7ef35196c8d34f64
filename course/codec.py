"""Plain-data transport between an untrusted process and a trusted one: JSON plus raw arrays.

A value tree (None, bool, int, float, str, list, tuple, dict with str keys, NumPy arrays and
scalars, and ``course.keraslike.KerasLikeModel``, the weights of a Keras model, sent as
``{"$model": plain data}`` and rebuilt field by field) becomes one ``.npz`` archive: the tree
as JSON in the member ``tree.npy`` (uint8), each array as its own member (once, however often
the tree refers to it). Decoding never unpickles (object dtypes are refused), checks every size
before reading (including each array header's claimed shape), and turns anything it does not
know into an ``Unsupported`` marker instead of running code. Used both ways: case inputs to the
sandbox, returned values back from it.
"""
from __future__ import annotations

import io
import json
import math
import zipfile
from dataclasses import dataclass

import numpy as np

from course.keraslike import KerasLikeModel

MAX_BYTES = 256 * 2**20
MAX_DEPTH = 32
MAX_MEMBERS = 100_000
_PLAIN = (bool, int, float, str)


class CodecError(ValueError):
    """The bytes are not a valid encoded value (corrupt, too big or too deep)."""


@dataclass(frozen=True)
class Unsupported:
    """A value the sender could not express as plain data; ``type_name`` says what it was."""

    type_name: str
    detail: str = ""


def type_name(value) -> str:
    t = type(value)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def encode(value, *, max_bytes: int = MAX_BYTES) -> bytes:
    """Encode a value tree as npz bytes. Values that are not plain data become ``Unsupported``."""
    arrays: dict[str, np.ndarray] = {}
    stored: dict[int, str] = {}  # id(array) -> key: an array the tree holds twice is stored once

    def walk(v, depth):
        if depth > MAX_DEPTH:
            return {"$unsupported": "nesting", "detail": f"nested deeper than {MAX_DEPTH} levels"}
        t = type(v)
        if v is None or t in _PLAIN:
            if t is float and not np.isfinite(v):
                return {"$float": repr(v)}
            if t is int and abs(v) >= 2**63:
                return {"$unsupported": "int", "detail": "an integer too large for int64"}
            return v
        if t is np.ndarray or isinstance(v, np.generic) and t.__module__ == "numpy":
            arr = np.asarray(v)
            if arr.dtype.hasobject or arr.dtype.kind not in "biufcSUM" or arr.dtype.fields:
                return {"$unsupported": type_name(v), "detail": f"dtype {arr.dtype}"}
            if t is np.ndarray and id(v) in stored:
                return {"$array": stored[id(v)], "scalar": False}
            key = f"a{len(arrays)}"
            arrays[key] = arr
            if t is np.ndarray:
                stored[id(v)] = key
            return {"$array": key, "scalar": t is not np.ndarray}
        if t is Unsupported:  # already decoded once (a round trip in the child): keep what it was
            return {"$unsupported": v.type_name, "detail": v.detail}
        if t in (list, tuple):
            return {"$" + t.__name__: [walk(x, depth + 1) for x in v]}
        if t is dict and all(type(k) is str for k in v):
            return {"$dict": {k: walk(x, depth + 1) for k, x in v.items()}}
        if t is KerasLikeModel:  # exactly this class: a subclass could lie about its weights
            return {"$model": walk(v.to_plain(), depth + 1)}
        return {"$unsupported": type_name(v), "detail": _safe_describe(v)}

    tree = json.dumps(walk(value, 0)).encode()
    buf = io.BytesIO()
    np.savez(buf, tree=np.frombuffer(tree, dtype=np.uint8), **arrays)
    data = buf.getvalue()
    if len(data) > max_bytes:
        raise CodecError(f"encoded value is {len(data):,} bytes, more than the {max_bytes:,} allowed")
    return data


def _safe_describe(v) -> str:
    shape = getattr(type(v), "__mro__", ())
    base = next((b.__qualname__ for b in shape[1:] if b.__module__ in ("builtins", "numpy")), "")
    return f"a subclass of {base}" if base and base != "object" else ""


def decode(data: bytes, *, max_bytes: int = MAX_BYTES):
    """Decode bytes from ``encode`` without running any code from them.

    Raises:
        CodecError: the bytes are not a well-formed encoded value or exceed ``max_bytes``.
    """
    if len(data) > max_bytes:
        raise CodecError(f"{len(data):,} bytes is more than the {max_bytes:,} allowed")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            total = sum(info.file_size for info in infos)
            if total > max_bytes:
                raise CodecError(f"archive expands to {total:,} bytes, over {max_bytes:,}")
            members = {}
            for info in infos:
                if not info.filename.endswith(".npy") or len(infos) > MAX_MEMBERS:
                    raise CodecError(f"unexpected archive member {info.filename[:40]!r}")
                with zf.open(info) as f:
                    members[info.filename[:-4]] = _read_npy(f, info.file_size)
        tree = json.loads(members.pop("tree").tobytes().decode())
        return _rebuild(tree, members, 0)
    except CodecError:
        raise
    except Exception as e:  # corrupt zip, bad npy header, bad JSON, recursion...
        raise CodecError(f"not a valid encoded value ({type(e).__name__}: {e})") from None


def _read_npy(f, size: int) -> np.ndarray:
    """One ``.npy`` member, after checking that its header tells the truth about its size.

    ``np.load`` would allocate whatever shape the header claims before reading a byte, so a
    forged header could ask the trusted process for terabytes; here the claim must match the
    member's actual size, and object (pickled) or structured dtypes are refused outright.
    """
    version = np.lib.format.read_magic(f)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran_order, dtype = read_header(f)
    if dtype.hasobject or dtype.fields or dtype.kind not in "biufcSUM" or dtype.itemsize == 0:
        raise CodecError(f"array of dtype {dtype} is not plain data")
    count = math.prod(shape)
    nbytes = count * dtype.itemsize
    if any(d < 0 for d in shape) or nbytes != size - f.tell():
        raise CodecError(f"array header claims shape {shape} of {dtype}, but the member holds {size - f.tell():,} bytes")
    buf = bytearray(nbytes)  # writable, unlike bytes
    if f.readinto(buf) != nbytes:
        raise CodecError("array data is truncated")
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order="F" if fortran_order else "C")


def _rebuild(node, arrays, depth):
    if depth > MAX_DEPTH + 1:
        raise CodecError("nested too deeply")
    if node is None or type(node) in _PLAIN:
        return node
    if type(node) is not dict or len(node) == 0:
        raise CodecError(f"unexpected node {type(node).__name__}")
    if "$array" in node:
        arr = arrays[node["$array"]]
        return arr[()] if node.get("scalar") else arr
    if "$float" in node:
        return float(node["$float"])
    if "$list" in node:
        return [_rebuild(x, arrays, depth + 1) for x in node["$list"]]
    if "$tuple" in node:
        return tuple(_rebuild(x, arrays, depth + 1) for x in node["$tuple"])
    if "$dict" in node:
        return {str(k): _rebuild(x, arrays, depth + 1) for k, x in node["$dict"].items()}
    if "$model" in node:
        return KerasLikeModel.from_plain(_rebuild(node["$model"], arrays, depth + 1))  # checks every field
    if "$unsupported" in node:
        return Unsupported(str(node["$unsupported"]), str(node.get("detail", "")))
    raise CodecError(f"unknown node {sorted(node)!r}")
