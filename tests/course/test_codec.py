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
