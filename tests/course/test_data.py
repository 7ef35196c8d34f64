"""Tests for ``course.data``: the shipped MNIST and the real loader code path."""
import hashlib
import shutil

import numpy as np
import pytest

from course import data


def test_shipped_file_is_the_real_mnist():
    """Is the shipped file byte-identical to the MNIST we were given?"""
    assert hashlib.sha256(data.SHIPPED.read_bytes()).hexdigest() == data.SHA256


def test_load_mnist_matches_keras_layout():
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert (x_train.shape, y_train.shape, x_test.shape, y_test.shape) == (
        (60000, 28, 28), (60000,), (10000, 28, 28), (10000,))
    assert all(a.dtype == np.uint8 for a in (x_train, y_train, x_test, y_test))
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert x_train.mean() == pytest.approx(33.3184, abs=1e-3)


def test_load_mnist_returns_fresh_writable_copies():
    (x1, _), _ = data.load_mnist()
    x1[0, 0, 0] = 255
    (x2, _), _ = data.load_mnist()
    assert x1.flags.writeable and x2[0, 0, 0] == 0


def test_falls_back_to_the_keras_cache(tmp_path, monkeypatch):
    """Without the shipped copy, does the loader read ~/.keras/datasets/mnist.npz?"""
    cache = tmp_path / "datasets" / "mnist.npz"
    cache.parent.mkdir()
    shutil.copy(data.SHIPPED, cache)
    monkeypatch.setattr(data, "SHIPPED", tmp_path / "missing.npz")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    data._default_path.cache_clear()
    try:
        assert data.mnist_path() == cache
        (_, y_train), _ = data.load_mnist()
        assert y_train.shape == (60000,) and data._default_path() == cache
    finally:
        data._default_path.cache_clear()


def test_missing_everywhere_names_both_places(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "SHIPPED", tmp_path / "missing.npz")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    data._default_path.cache_clear()
    try:
        with pytest.raises(FileNotFoundError, match="shipped copy.*Keras cache"):
            data.load_mnist()
    finally:
        data._default_path.cache_clear()
