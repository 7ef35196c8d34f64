"""Tests for ``course.explore.server`` and ``course explore``: the API answers what NumPy computes."""
import base64
import json
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

import course
from course.data import load_mnist
from course.explore import Exploring, explore, save_weights
from course.explore.network import pretrained
from course.explore.preprocess import mnist_like
from course.explore.server import ExploreServer


@pytest.fixture(scope="module")
def server():
    s = ExploreServer(pretrained()).start()
    yield s
    s.stop()


def call(server, path, body=None, *, raw=None, headers=None):
    """(status, headers, parsed JSON or bytes) of one request."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(server.url + path.lstrip("/"), data=data, headers=headers or {},
                                     method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            status, head, payload = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, head, payload = e.code, e.headers, e.read()
    if head.get("Content-Type", "").startswith("application/json"):
        payload = json.loads(payload)
    return status, head, payload


def vertical_stroke(height=280, width=280) -> np.ndarray:
    canvas = np.zeros((height, width))
    canvas[40:240, 130:150] = 1.0
    return canvas


def test_the_page_and_its_files_are_served_and_may_load_nothing_else(server):
    status, head, page = call(server, "/")
    assert status == 200 and b'<canvas id="pad"' in page and head["Content-Type"].startswith("text/html")
    assert head["Content-Security-Policy"].startswith("default-src 'self'")
    for name in ("explore.js", "explore.css"):
        assert call(server, name)[0] == 200
    assert not re.search(rb"(src|href)=\"(https?:)?//", page)  # nothing from a CDN
    assert call(server, "/../pyproject.toml")[0] == 404


def test_the_network_is_described(server):
    status, _, info = call(server, "/api/network")
    assert status == 200 and info == {"name": "the course's pre-trained network", "sizes": [784, 16, 16, 10],
                                      "activations": ["sigmoid"] * 3}


def test_reading_returns_the_preprocessed_input_and_every_layer_of_the_numpy_network(server):
    image = vertical_stroke()
    status, _, answer = call(server, "/api/read", {"image": image.tolist()})
    assert status == 200
    digit = mnist_like(image)
    np.testing.assert_array_equal(answer["input"], digit)
    layers = pretrained().forward(digit.reshape(784))
    assert [layer["activation"] for layer in answer["layers"]] == ["sigmoid"] * 3
    for got, want in zip(answer["layers"], layers):
        np.testing.assert_array_equal(got["values"], want)
    assert answer["guess"] == int(np.argmax(layers[-1])) == 1  # a vertical stroke is a 1
    assert answer["server_ms"] > 0
    # the edges drawn: for each neuron of layers 2 and 3, its 3 strongest w_ji * a_i
    W = pretrained().weights[2]
    into_output_0 = sorted((e for e in answer["edges"] if e[0] == 3 and e[2] == 0), key=lambda e: -abs(e[3]))
    push = W[0] * layers[1]
    assert [e[1] for e in into_output_0] == list(np.argsort(-np.abs(push))[:3])
    np.testing.assert_allclose([e[3] for e in into_output_0], push[[e[1] for e in into_output_0]])


def test_a_canvas_alpha_channel_reads_like_the_same_image(server):
    image = (vertical_stroke(200, 300) * 255).astype(np.uint8)
    body = {"width": 300, "height": 200, "alpha": base64.b64encode(image.tobytes()).decode()}
    _, _, from_alpha = call(server, "/api/read", body)
    _, _, from_image = call(server, "/api/read", {"image": image.tolist()})
    assert from_alpha["input"] == from_image["input"] and from_alpha["guess"] == 1


def test_a_test_digit_is_shown_exactly_as_it_is(server):
    (_, _), (x_test, y_test) = load_mnist()
    status, _, digit = call(server, "/api/digit?index=7")
    assert status == 200 and digit["index"] == 7 and digit["label"] == y_test[7]
    np.testing.assert_array_equal(digit["image"], x_test[7] / 255.0)
    _, _, answer = call(server, "/api/read", {"image": digit["image"], "preprocess": False})
    np.testing.assert_array_equal(answer["input"], x_test[7] / 255.0)
    assert answer["guess"] == int(np.argmax(pretrained().forward(x_test[7].reshape(784) / 255.0)[-1]))
    assert call(server, "/api/digit")[2]["index"] in range(10000)  # a random one


def test_a_neuron_shows_its_incoming_weights_and_strongest_feeders(server):
    network = pretrained()
    _, _, first = call(server, "/api/neuron?layer=1&index=5")
    np.testing.assert_array_equal(first["image"], network.weights[0][5].reshape(28, 28))
    assert first["bias"] == network.biases[0][5] and first["feeders"] == []
    _, _, second = call(server, "/api/neuron?layer=2&index=3")
    w = network.weights[1][3]
    np.testing.assert_array_equal(second["weights"], w)
    assert [f["index"] for f in second["feeders"]] == list(np.argsort(-np.abs(w))[:4])
    for f in second["feeders"]:
        np.testing.assert_array_equal(f["image"], network.weights[0][f["index"]].reshape(28, 28))
    _, _, output = call(server, "/api/neuron?layer=3&index=9")
    assert output["image"] is None and all(f["image"] is None for f in output["feeders"])


@pytest.mark.parametrize("path, body, status, message", [
    ("/api/read", {"image": np.zeros((280, 280)).tolist()}, 422, "no ink: draw a digit first"),
    ("/api/read", {"image": [[1, 2], [3]]}, 400, "2-D array of numbers"),
    ("/api/read", {"width": 10, "height": 10, "alpha": "AAAA"}, 400, "width × height = 10 × 10 bytes"),
    ("/api/read", {"width": 10, "height": 10, "alpha": "not base64!"}, 400, 'send {"image"'),
    ("/api/read", {"image": np.ones((30, 30)).tolist(), "preprocess": False}, 400, "needs a 28×28 image"),
    ("/api/read", [1, 2], 400, "should be a JSON object"),
    ("/api/digit?index=10000", None, 400, "between 0 and 9999; received 10000"),
    ("/api/digit?index=seven", None, 400, "whole number"),
    ("/api/neuron?layer=4&index=0", None, 400, "layer should be 1..3"),
    ("/api/neuron?layer=1", None, 400, "layer=L&index=J"),
    ("/api/neuron?layer=2&index=16", None, 400, "index should be 0..15 in layer 2; received index=16"),
    ("/api/nothing", None, 404, "no such page"),
])
def test_bad_requests_get_a_clear_message(server, path, body, status, message):
    got, _, answer = call(server, path, body)
    assert got == status and message in answer["error"]


def test_a_body_that_is_not_json_or_too_big_is_refused(server):
    assert "not JSON" in call(server, "/api/read", raw=b"{nope")[2]["error"]
    status, _, answer = call(server, "/api/read", raw=b"{}", headers={"Content-Length": str(10**9)})
    assert status == 413


def test_a_request_for_another_host_name_is_refused(server):
    """A page elsewhere can't reach the explorer by pointing its own domain at 127.0.0.1."""
    assert call(server, "/api/network", headers={"Host": "attacker.example:80"})[0] == 403


def test_explore_in_a_notebook_runs_in_the_background_and_shows_an_iframe(tmp_path):
    weights, biases = list(pretrained().weights), list(pretrained().biases)
    first = course.explore(weights, biases)  # the package is callable
    assert isinstance(first, Exploring)
    assert f'<iframe src="{first.url}"' in first._repr_html_()
    assert call(first.server, "/api/network")[2]["name"] == "your network"
    second = explore(model=save_weights(tmp_path / "mine.npz", weights, biases))
    try:
        assert second.url != first.url and call(second.server, "/api/network")[2]["name"] == "mine.npz"
        with pytest.raises(urllib.error.URLError):  # exploring again stopped the first one
            urllib.request.urlopen(first.url + "api/network", timeout=5)
    finally:
        second.stop()


def test_explore_refuses_half_a_network():
    with pytest.raises(ValueError, match="give both weights and biases"):
        explore([np.zeros((10, 784))])


def test_the_command_prints_its_address_and_stops_cleanly_on_ctrl_c(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "course.cli", "explore", "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", first)
        assert url, first
        with urllib.request.urlopen(url[0] + "api/network", timeout=30) as r:
            assert json.loads(r.read())["sizes"] == [784, 16, 16, 10]
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "Stopped." in out and "Traceback" not in err, err


def test_the_command_says_why_a_weights_file_cant_be_explored(tmp_path):
    np.savez(tmp_path / "bad.npz", W1=np.zeros((16, 784)))
    proc = subprocess.run([sys.executable, "-m", "course.cli", "explore", "--no-browser", "--weights",
                           str(tmp_path / "bad.npz")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "should hold weights_0, biases_0" in proc.stderr and "Traceback" not in proc.stderr


def test_the_command_says_when_its_port_is_taken():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "course.cli", "explore", "--no-browser", "--port", str(port)],
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and f"can't listen on 127.0.0.1:{port}" in proc.stderr


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_the_command_refuses_a_port_that_is_no_port_in_one_line(port):
    proc = subprocess.run([sys.executable, "-m", "course.cli", "explore", "--no-browser", "--port", port],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"--port: expected a port from 0 to 65535 (0: any free one); received '{port}'" in proc.stderr
