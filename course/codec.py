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
import re
import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from course.keraslike import KerasLikeModel

if TYPE_CHECKING:  # imported where it is used: zipfile imports threading (see ``_zip``)
    import zipfile

MAX_BYTES = 256 * 2**20
MAX_DEPTH = 32
MAX_MEMBERS = 100_000
_PLAIN = (bool, int, float, str)
_CONTAINERS = {list: "$list", tuple: "$tuple"}
PLAIN_KINDS = "biufcSUM"
"""NumPy dtype kinds that are plain data (no objects, no structured or void records)"""


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


def _flatten(value) -> tuple[dict, dict[str, np.ndarray]]:
    """The value as a JSON-able tree plus the arrays it refers to (by member name)."""
    arrays: dict[str, np.ndarray] = {}
    stored: dict[int, str] = {}  # id(array) -> key: an array the tree holds twice is stored once

    def walk(v, depth):
        # the commonest types first, by exact type: a results tree is mostly small dicts,
        # strings and numbers, and every node of it is walked in every sandboxed child
        if depth > MAX_DEPTH:
            return {"$unsupported": "nesting", "detail": f"nested deeper than {MAX_DEPTH} levels"}
        t = type(v)
        if t is str or t is bool or v is None:
            return v
        if t is float:
            return v if math.isfinite(v) else {"$float": repr(v)}
        if t is int:
            return v if -2**63 < v < 2**63 else {"$unsupported": "int", "detail": "an integer too large for int64"}
        if t is dict:
            for k in v:
                if type(k) is not str:
                    return {"$unsupported": type_name(v), "detail": _safe_describe(v)}
            return {"$dict": {k: walk(x, depth + 1) for k, x in v.items()}}
        if t is list or t is tuple:
            return {_CONTAINERS[t]: [walk(x, depth + 1) for x in v]}
        if t is np.ndarray or isinstance(v, np.generic) and t.__module__ == "numpy":
            arr = np.asarray(v)
            if arr.dtype.hasobject or arr.dtype.kind not in PLAIN_KINDS or arr.dtype.fields:
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
        if t is KerasLikeModel:  # exactly this class: a subclass could lie about its weights
            return {"$model": walk(v.to_plain(), depth + 1)}
        return {"$unsupported": type_name(v), "detail": _safe_describe(v)}

    return walk(value, 0), arrays


def encode(value, *, max_bytes: int = MAX_BYTES) -> bytes:
    """Encode a value tree as npz bytes. Values that are not plain data become ``Unsupported``."""
    return b"".join(encode_parts(value, max_bytes=max_bytes))


def encode_parts(value, *, max_bytes: int = MAX_BYTES) -> list[bytes]:
    """``encode``'s bytes in pieces, for a writer that sends them without joining them (a
    sandboxed child writing a megabyte of results would otherwise copy it twice more)."""
    tree, arrays = _flatten(value)
    members = {"tree.npy": _npy_parts(np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8))}
    members.update((f"{key}.npy", _npy_parts(arr)) for key, arr in arrays.items())
    parts = _zip(members)
    size = sum(len(p) for p in parts)
    if size > max_bytes:
        raise CodecError(f"encoded value is {size:,} bytes, more than the {max_bytes:,} allowed")
    return parts


def _npy_parts(arr: np.ndarray) -> list[bytes]:
    """``arr`` as the bytes of an ``.npy`` file (format 1.0, as ``np.save`` writes it), in two
    parts: the header, and the array's bytes."""
    fortran = arr.flags.f_contiguous and not arr.flags.c_contiguous
    header = f"{{'descr': {arr.dtype.str!r}, 'fortran_order': {fortran}, 'shape': {arr.shape!r}, }}".encode()
    pad = -(len(_NPY_MAGIC) + 2 + len(header) + 1) % 64  # data starts 64-byte aligned
    if len(header) + pad + 1 > 65535:  # a header this long needs format 2.0
        out = io.BytesIO()
        np.lib.format.write_array(out, arr, allow_pickle=False)
        return [out.getvalue()]
    return [b"".join([_NPY_MAGIC, (len(header) + pad + 1).to_bytes(2, "little"), header, b" " * pad, b"\n"]),
            arr.tobytes(order="F" if fortran else "C")]


_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")


def _zip(members: dict[str, list[bytes]]) -> list[bytes]:
    """An uncompressed ZIP archive of ``members`` (what ``np.savez`` writes, without its overhead).

    Read back with ``zipfile``; archives bigger than 4 GB (ZIP64) are refused by ``MAX_BYTES``
    long before, and go through ``zipfile`` here all the same.
    """
    if sum(len(p) for pieces in members.values() for p in pieces) > 2**31:
        import zipfile  # here only: it imports threading, whose fork hook every sandboxed child would run

        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, pieces in members.items():
                zf.writestr(name, b"".join(pieces))
        return [buf.getvalue()]
    parts, central, offset = [], [], 0
    for name, pieces in members.items():
        raw = name.encode()
        crc, size = 0, 0
        for piece in pieces:
            crc, size = zlib.crc32(piece, crc), size + len(piece)
        # version 20, no flags, stored, DOS time/date 1980-01-01 00:00
        local = _LOCAL.pack(b"PK\x03\x04", 20, 0, 0, 0, 0x21, crc, size, size, len(raw), 0)
        central.append(_CENTRAL.pack(b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, crc, size, size,
                                     len(raw), 0, 0, 0, 0, 0o600 << 16, offset) + raw)
        parts += [local + raw, *pieces]
        offset += len(local) + len(raw) + size
    directory = b"".join(central)
    end = _END.pack(b"PK\x05\x06", 0, 0, len(central), len(central), len(directory), offset, 0)
    return [*parts, directory + end]


def plain(value, *, max_bytes: int = MAX_BYTES):
    """What ``decode(encode(value))`` returns, without the bytes in between.

    A snapshot (arrays are copied), so a later change to the value doesn't change it; the size
    limit counts the JSON tree plus the arrays' bytes, about what ``encode`` would write.

    Raises:
        CodecError: the value is bigger than ``max_bytes``.
    """
    t = type(value)
    if value is None or t is bool or t is str and len(value) < max_bytes // 4 or \
            t is float or t is int and abs(value) < 2**63:
        return value  # immutable, and exactly what the round trip gives back
    if isinstance(value, np.generic) and t.__module__ == "numpy" and value.dtype.kind in PLAIN_KINDS \
            and not value.dtype.fields and value.nbytes < max_bytes // 4:
        return value  # a NumPy scalar is immutable too
    tree, arrays = _flatten(value)
    text = json.dumps(tree)
    size = len(text) + sum(a.nbytes for a in arrays.values())
    if size > max_bytes:
        raise CodecError(f"encoded value is {size:,} bytes, more than the {max_bytes:,} allowed")
    return _rebuild(json.loads(text), {k: a.copy(order="K") for k, a in arrays.items()}, 0)


def _safe_describe(v) -> str:
    shape = getattr(type(v), "__mro__", ())
    base = next((b.__qualname__ for b in shape[1:] if b.__module__ in ("builtins", "numpy")), "")
    return f"a subclass of {base}" if base and base != "object" else ""


def decode(data: bytes | memoryview, *, max_bytes: int = MAX_BYTES):
    """Decode bytes from ``encode`` (or a view of them) without running any code from them.

    Raises:
        CodecError: the bytes are not a well-formed encoded value or exceed ``max_bytes``.
    """
    if len(data) > max_bytes:
        raise CodecError(f"{len(data):,} bytes is more than the {max_bytes:,} allowed")
    try:
        members = _plain_members(data)
        if members is None:  # not laid out the way ``encode`` writes: let zipfile read it
            import zipfile  # here only (see ``_zip``)

            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                infos = zf.infolist()
                if sum(info.file_size for info in infos) <= max_bytes:
                    members = [(info.filename, _member(data, zf, info)) for info in infos]
        if members is None or sum(len(raw) for _, raw in members) > max_bytes:
            raise CodecError(f"archive expands to more than {max_bytes:,} bytes")
        strange = [name for name, _ in members if not name.endswith(".npy")]
        if strange or len(members) > MAX_MEMBERS:
            raise CodecError(f"unexpected archive member {(strange or [members[-1][0]])[0][:40]!r}")
        # the same members np.load would read: "<key>.npy", the last one of a name winning
        arrays = {name.removesuffix(".npy"): _read_npy(raw) for name, raw in members}
        tree = json.loads(arrays.pop("tree").tobytes().decode())
        return _rebuild(tree, arrays, 0)
    except CodecError:
        raise
    except Exception as e:  # corrupt zip, bad npy header, bad JSON, recursion...
        raise CodecError(f"not a valid encoded value ({type(e).__name__}: {e})") from None


def _plain_members(data: bytes) -> list[tuple[str, bytes]] | None:
    """The members of an archive laid out exactly as ``_zip`` writes it, or None if it isn't.

    Reading that one layout takes a few slices per member instead of ``zipfile``'s objects;
    every field is checked (central directory against local headers, sizes, CRC-32), and
    anything unexpected hands the bytes to ``zipfile`` instead.
    """
    try:
        end = len(data) - _END.size
        sig, disk, cd_disk, here, count, cd_size, cd_start, comment = _END.unpack_from(data, end)
        if sig != b"PK\x05\x06" or disk or cd_disk or here != count or comment or cd_start + cd_size != end:
            return None
        members, pos = [], cd_start
        for _ in range(count):
            (sig, _, _, flags, method, _, _, crc, csize, usize, nlen, xlen, clen, _, _, _,
             offset) = _CENTRAL.unpack_from(data, pos)
            name = data[pos + _CENTRAL.size:pos + _CENTRAL.size + nlen]
            pos += _CENTRAL.size + nlen
            if sig != b"PK\x01\x02" or flags or method or csize != usize or xlen or clen or pos > end:
                return None
            local = _LOCAL.unpack_from(data, offset)
            begin = offset + _LOCAL.size + nlen
            raw = data[begin:begin + usize]
            if (local[0] != b"PK\x03\x04" or local[2] or local[3] or local[6:11] != (crc, usize, usize, nlen, 0)
                    or data[offset + _LOCAL.size:begin] != name or len(raw) != usize or begin + usize > cd_start
                    or zlib.crc32(raw) != crc):
                return None
            members.append((str(name, "utf-8"), raw))  # ``name`` may be a view (``data`` a memoryview)
        return members if pos == end else None
    except (struct.error, UnicodeDecodeError):
        return None


def _member(data: bytes, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes: sliced straight out of ``data`` when stored plainly (as ``encode`` and
    ``np.savez`` do), which skips ``zipfile``'s per-member file objects; otherwise read by it."""
    import zipfile

    start = info.header_offset
    name = info.filename.encode()
    if info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 0x9 and info.file_size == info.compress_size:
        local = data[start:start + _LOCAL.size]
        if len(local) == _LOCAL.size:
            fields = _LOCAL.unpack(local)
            begin = start + _LOCAL.size + fields[9] + fields[10]
            if fields[0] == b"PK\x03\x04" and data[start + _LOCAL.size:start + _LOCAL.size + fields[9]] == name:
                raw = data[begin:begin + info.file_size]
                if len(raw) == info.file_size and zlib.crc32(raw) == info.CRC:
                    return raw
    return zf.read(info)


# The header ``np.save`` writes for the dtypes ``encode`` allows. Parsing it with this pattern
# instead of NumPy's ``literal_eval`` makes decoding several times faster; any other header
# goes through NumPy's own reader, which refuses pickled (object) arrays.
_NPY_MAGIC = b"\x93NUMPY\x01\x00"
_NPY_HEADER = re.compile(rb"\{'descr': '([<>|][a-zA-Z]\d+(?:\[\w+\])?)', 'fortran_order': (True|False), "
                         rb"'shape': \(((?:\d+, )*\d+,?|)\), \} *\n")


def _read_npy(raw: bytes) -> np.ndarray:
    """One ``.npy`` member as an array, never unpickling."""
    if raw[:8] == _NPY_MAGIC:
        end = 10 + int.from_bytes(raw[8:10], "little")
        match = _NPY_HEADER.fullmatch(raw, 10, end)
        if match:
            dtype = np.dtype(match[1].decode())
            shape = tuple(int(n) for n in match[3].split(b",") if n.strip())
            count = math.prod(shape)
            if dtype.kind in PLAIN_KINDS and dtype.itemsize and len(raw) - end == count * dtype.itemsize:
                flat = np.frombuffer(raw, dtype=dtype, count=count, offset=end).copy()
                return flat.reshape(shape[::-1]).T if match[2] == b"True" else flat.reshape(shape)
    return _read_checked_npy(io.BytesIO(raw), len(raw))


def _read_checked_npy(f, size: int) -> np.ndarray:
    """One ``.npy`` member, after checking that its header tells the truth about its size.

    ``np.load`` would allocate whatever shape the header claims before reading a byte, so a
    forged header could ask the trusted process for terabytes; here the claim must match the
    member's actual size, and object (pickled) or structured dtypes are refused outright.
    """
    version = np.lib.format.read_magic(f)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran_order, dtype = read_header(f)
    if dtype.hasobject or dtype.fields or dtype.kind not in PLAIN_KINDS or dtype.itemsize == 0:
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
    if len(node) == 1 and depth <= MAX_DEPTH:
        # the commonest nodes (one key: no order of precedence to keep), their plain members
        # taken as they stand rather than by a call each, which is what ``_rebuild`` would return
        (key, value), = node.items()
        if key == "$dict":
            return {str(k): x if x is None or type(x) in _PLAIN else _rebuild(x, arrays, depth + 1)
                    for k, x in value.items()}
        if key == "$list":
            return [x if x is None or type(x) in _PLAIN else _rebuild(x, arrays, depth + 1) for x in value]
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
