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


def _model():
    from course.keraslike import KerasLikeDense, KerasLikeModel

    rng = np.random.default_rng(0)
    return KerasLikeModel([KerasLikeDense(rng.normal(size=(4, 3)), rng.normal(size=3), name="d0"),
                           KerasLikeDense(rng.normal(size=(3, 2)).astype(np.float32), np.zeros(2, np.float32),
                                          activation="relu", name="d1")], name="tiny")


def test_a_keras_like_model_round_trips_as_plain_data():
    from course.keraslike import KerasLikeModel

    model = _model()
    back = codec.decode(codec.encode({"model": model}))["model"]
    assert type(back) is KerasLikeModel and back.name == "tiny" and back.sizes == [4, 3, 2]
    assert [layer.get_config() for layer in back.layers] == [layer.get_config() for layer in model.layers]
    for got, want in zip(back.get_weights(), model.get_weights()):
        assert got.dtype == want.dtype and np.array_equal(got, want)


def test_a_subclass_of_the_model_is_not_trusted():
    from course.keraslike import KerasLikeModel

    class Lying(KerasLikeModel):
        def get_weights(self):
            return []

    model = _model()
    liar = Lying(model.layers, name="liar")
    assert isinstance(codec.decode(codec.encode(liar)), codec.Unsupported)


@pytest.mark.parametrize("plain", [
    {"name": "m", "layers": []},
    {"name": "m", "layers": [{"name": "d", "activation": "__import__('os')", "kernel": np.zeros((2, 2)),
                              "bias": np.zeros(2)}]},
    {"name": "m", "layers": [{"name": "d", "activation": "relu", "kernel": np.zeros((2, 2)), "bias": np.zeros(3)}]},
    {"name": "m", "layers": [{"name": "d", "activation": "relu", "kernel": np.zeros(2), "bias": np.zeros(2)}]},
    {"name": "m", "layers": [{"name": "d", "activation": "relu", "kernel": [[0.0]], "bias": np.zeros(1)}]},
    {"name": "m", "layers": [{"name": "d", "activation": "relu", "kernel": np.zeros((2, 3)), "bias": np.zeros(3)},
                             {"name": "e", "activation": "relu", "kernel": np.zeros((2, 1)), "bias": np.zeros(1)}]},
    {"name": "m", "layers": "everything", "extra": 1},
])
def test_a_malformed_model_is_a_codec_error(plain):
    """Bytes that claim to be a model but aren't one are refused, whatever the fields say."""
    import json

    with np.load(io.BytesIO(codec.encode(plain)), allow_pickle=False) as npz:
        node = json.loads(npz["tree"].tobytes().decode())
        arrays = {k: npz[k] for k in npz.files if k != "tree"}
    buf = io.BytesIO()
    np.savez(buf, tree=np.frombuffer(json.dumps({"$model": node}).encode(), np.uint8), **arrays)
    with pytest.raises(codec.CodecError):
        codec.decode(buf.getvalue())


def test_an_array_used_twice_is_stored_once():
    w = np.arange(1000.0)
    once = len(codec.encode([w]))
    twice = codec.encode([w, (w, 1)])
    assert len(twice) < once + 500
    back = codec.decode(twice)
    assert np.array_equal(back[0], w) and np.array_equal(back[1][0], w)


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


ROUND_TRIP_VALUES = [
    None, True, 0, -(2**62), 2**70, 1.5, float("nan"), float("-inf"), "text", "\udc80",
    np.float64(0.25), np.float32(1.5), np.int8(-3), np.bool_(True), np.complex128(1 + 2j),
    np.arange(6.0).reshape(2, 3), np.asfortranarray(np.arange(6.0).reshape(2, 3)), np.arange(10)[::3],
    np.array(3, dtype=">i4"), np.zeros((0, 4)), np.array(["ab", "c"]), np.array([b"x"]),
    np.array(["2020-01-01"], dtype="M8[D]"), np.ma.array([1.0]), np.array([object()], dtype=object),
    [1, (2.0, [np.arange(2)])], {"a": {"b": np.ones(3)}}, {1: 2}, type("MyFloat", (float,), {})(1.0),
]


def _same(a, b):
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and a.flags.f_contiguous == b.flags.f_contiguous and np.array_equal(a, b))
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return type(b) is dict and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) and np.isnan(a):
        return type(b) is float and np.isnan(b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("value", ROUND_TRIP_VALUES, ids=lambda v: type(v).__name__)
def test_plain_is_exactly_what_the_round_trip_gives(value):
    assert _same(codec.plain(value), codec.decode(codec.encode(value)))


def test_plain_is_a_snapshot_of_arrays():
    a = np.zeros(3)
    kept = codec.plain([a])
    a[0] = 1.0
    assert kept[0][0] == 0.0


@pytest.mark.parametrize("value", [v for v in ROUND_TRIP_VALUES if isinstance(v, np.ndarray)
                                   and not v.dtype.hasobject and type(v) is np.ndarray], ids=str)
def test_encoded_bytes_are_a_standard_npz_and_numpy_files_decode(value):
    """Our encoder writes what np.load reads; our decoder reads what np.savez writes."""
    stored = value.copy(order="K")  # what any writer stores: the values, C or Fortran order
    with np.load(io.BytesIO(codec.encode(value)), allow_pickle=False) as npz:
        assert _same(npz["a0"], stored)
    buf = io.BytesIO()
    np.savez(buf, tree=np.frombuffer(b'{"$array": "a0", "scalar": false}', np.uint8), a0=value)
    assert _same(codec.decode(buf.getvalue()), stored)


def test_a_member_whose_checksum_does_not_match_is_refused():
    data = bytearray(codec.encode(np.arange(100.0)))
    data[data.rindex(b"PK\x01\x02") - 9] ^= 0xFF  # a byte inside the array's data
    with pytest.raises(codec.CodecError):
        codec.decode(bytes(data))
