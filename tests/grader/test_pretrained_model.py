"""Is the shipped pre-trained model what its ``.npz`` says, and is it any good?"""
import numpy as np

from course import pretrained
from course.data import load_mnist
from grader.quiet import keras


def test_the_npz_holds_exactly_the_keras_files_weights_and_layout():
    model = keras().models.load_model(pretrained.KERAS_PATH, compile=False, safe_mode=True)
    stand_in = pretrained.load()
    assert stand_in.sizes == [784, 16, 16, 10] and stand_in.count_params() == model.count_params() == 13002
    for real, ours in zip(model.layers, stand_in.layers):
        assert ours.get_config()["activation"] == real.get_config()["activation"] == "sigmoid"
        for a, b in zip(real.get_weights(), ours.get_weights()):
            assert a.dtype == b.dtype and np.array_equal(a, b)


def test_it_reads_real_test_digits_sensibly():
    model = keras().models.load_model(pretrained.KERAS_PATH, compile=False, safe_mode=True)
    (_, _), (x_test, y_test) = load_mnist()
    guesses = np.argmax(model.predict(x_test.reshape(-1, 784) / 255.0, verbose=0), axis=-1)
    accuracy = float(np.mean(guesses == y_test))
    assert 0.92 <= accuracy < 0.99, accuracy  # a quick small network: good, not state of the art
