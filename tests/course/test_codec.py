"""Tests for ``course.codec``: plain data only, never pickle, never trust the bytes."""
import io
import warnings

import numpy as np
import pytest

from course import codec

with warnings.catch_warnings():
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    matrix = np.matrix([[1.0]])


def test_round_trip_keeps_types_and_values():
    value = {"a": [np.arange(3.0), (1, 2.5, True, None, "x")], "s": np.float32(2.5), "nan": float("nan")}
    back = codec.decode(codec.encode(value))
    assert back["a"][1] == (1, 2.5, True, None, "x") and isinstance(back["a"][1], tuple)
    assert back["a"][0].tolist() == [0.0, 1.0, 2.0]
    assert isinstance(back["s"], np.float32) and np.isnan(back["nan"])


@pytest.mark.parametrize("value, kind", [
    (np.ma.array([1.0, 2.0]), "MaskedArray"),
    (np.array([object()], dtype=object), "ndarray"),
    (type("MyFloat", (float,), {})(1.0), "MyFloat"),
    (lambda: 1, "function"),
    (matrix, "matrix"),
])
def test_non_plain_values_become_unsupported(value, kind):
    back = codec.decode(codec.encode(value))
    assert isinstance(back, codec.Unsupported) and kind in back.type_name


def test_pickled_content_is_refused():
    buf = io.BytesIO()
    np.savez(buf, tree=np.frombuffer(b'{"$array": "a0"}', np.uint8), a0=np.array([object()], dtype=object))
    with pytest.raises(codec.CodecError):
        codec.decode(buf.getvalue())


@pytest.mark.parametrize("data", [b"", b"not a zip", b"PK\x03\x04garbage"])
def test_garbage_is_a_codec_error(data):
    with pytest.raises(codec.CodecError):
        codec.decode(data)


def test_size_limit():
    with pytest.raises(codec.CodecError, match="more than"):
        codec.decode(codec.encode(np.zeros(1000)), max_bytes=100)


def _npz(**members: bytes) -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("tree.npy", _npy(np.frombuffer(b'{"$array": "a0"}', np.uint8)))
        for name, data in members.items():
            zf.writestr(f"{name}.npy", data)
    return buf.getvalue()


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def test_a_header_claiming_a_huge_array_is_refused_before_anything_is_allocated():
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (2**40,)})
    with pytest.raises(codec.CodecError, match="claims shape"):
        codec.decode(_npz(a0=header.getvalue() + b"\0" * 8))


def test_an_object_array_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "unpickled"
    payload = f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|O", "fortran_order": False, "shape": (1,)})
    with pytest.raises(codec.CodecError, match="not plain data"):
        codec.decode(_npz(a0=header.getvalue() + payload))
    assert not marker.exists()


def test_decoded_arrays_are_writable_and_keep_their_layout():
    value = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    back = codec.decode(codec.encode(value))
    back[0, 0] = 7.0
    assert back.flags.writeable and back.tolist() == [[7.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


def test_unsupported_keeps_what_it_was_through_a_second_round_trip():
    once = codec.decode(codec.encode(np.ma.array([1.0])))
    twice = codec.decode(codec.encode({"value": once}))["value"]
    assert twice == once and "MaskedArray" in twice.type_name
