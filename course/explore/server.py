"""The explorer's local web server: the page, and a JSON API that runs the network in NumPy.

Standard library only (``http.server``), bound to 127.0.0.1. The page (``static/``) draws; every
number it shows comes from here, computed by :mod:`course.explore.preprocess` and
:class:`course.explore.network.Network`, so there is one implementation of the network, not a
JavaScript copy.

API (JSON in and out; layers are numbered as in the lessons: 1 is the first hidden layer):

- ``GET /api/network`` → ``{"name", "sizes": [784, 16, 16, 10], "activations": [...]}``
- ``POST /api/read`` with ``{"image": [[...], ...]}`` (any size, ink 0..1 or 0..255) or
  ``{"width": w, "height": h, "alpha": base64 of w*h bytes}`` (a canvas's alpha channel), and
  ``"preprocess": false`` to show an exact 28×28 digit as it is →
  ``{"input": 28×28, "layers": [{"activation", "values"}, ...], "guess", "edges", "server_ms"}``;
  an image without ink → 422 ``{"error": "..."}``.
- ``GET /api/digit?index=i`` → ``{"index", "label", "image": 28×28}`` from the MNIST test set
  (a random one without ``index``).
- ``GET /api/neuron?layer=l&index=j`` → that neuron's incoming ``weights`` and ``bias``, its
  weights as a 28×28 ``image`` for layer 1, and for later layers the ``feeders`` whose weights
  push it most (with their own pictures when they are first-layer neurons).

What it leaves out: authentication (it answers only 127.0.0.1 and requests naming it as host),
HTTPS, and more than one network per server.
"""
from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, urlsplit

import numpy as np

from course.explore import preprocess
from course.explore.network import Network

STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
          "/explore.js": ("explore.js", "text/javascript; charset=utf-8"),
          "/explore.css": ("explore.css", "text/css; charset=utf-8")}
MAX_BODY = 8 * 2**20
"""bytes: a 2000×2000 canvas's alpha channel, base64, fits with room to spare"""
MAX_SIDE = 2000
EDGES_PER_NEURON = 3
"""connections drawn into each neuron of layers 2..L: its strongest weighted inputs |w_ji a_i|"""
FEEDERS = 4


class BadRequest(ValueError):
    """A request the API can't answer; its message goes back to the page."""


def _image(body: dict) -> np.ndarray:
    """The image a ``/api/read`` body carries, as an array (not yet checked for ink)."""
    if "image" in body:
        return preprocess.as_grey(body["image"])
    try:
        width, height = int(body["width"]), int(body["height"])
        raw = base64.b64decode(body["alpha"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise BadRequest('send {"image": [[...], ...]} or {"width": w, "height": h, "alpha": base64 bytes}') from None
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE) or len(raw) != width * height:
        raise BadRequest(f"alpha should hold width × height = {width} × {height} bytes (each side at most "
                         f"{MAX_SIDE}); received {len(raw)} bytes")
    return np.frombuffer(raw, dtype=np.uint8).reshape(height, width)


class Explorer:
    """What the API computes for one network (no HTTP here, so it is easy to test and time)."""

    def __init__(self, network: Network):
        self.network = network
        self._test_set = None
        self._lock = threading.Lock()

    def info(self) -> dict:
        return {"name": self.network.name, "sizes": self.network.sizes,
                "activations": list(self.network.activations)}

    def read(self, body: dict) -> dict:
        """``POST /api/read``: preprocess the image, run the network, pick the edges to draw."""
        start = time.perf_counter()
        image = _image(body)
        if body.get("preprocess", True):
            digit = preprocess.mnist_like(image)
        elif image.shape == (preprocess.SIZE, preprocess.SIZE):
            digit = image
        else:
            raise BadRequest(f'"preprocess": false needs a 28×28 image; received shape {image.shape}')
        layers = self.network.forward(digit.reshape(784))
        edges = []  # [layer, from, to, w_ji * a_i]: what pushes each neuron of layers 2..L most
        for l in range(1, len(layers)):
            push = self.network.weights[l] * layers[l - 1][None, :]  # (n_out, n_in)
            for j, row in enumerate(push):
                for i in np.argsort(-np.abs(row))[:EDGES_PER_NEURON]:
                    edges.append([l + 1, int(i), j, float(row[i])])
        return {"input": digit.tolist(),
                "layers": [{"activation": act, "values": a.tolist()}
                           for act, a in zip(self.network.activations, layers)],
                "guess": int(np.argmax(layers[-1])), "edges": edges,
                "server_ms": (time.perf_counter() - start) * 1000}

    def digit(self, query: dict) -> dict:
        """``GET /api/digit``: a digit of the MNIST test set, as the network sees it."""
        with self._lock:
            if self._test_set is None:
                from course.data import load_mnist

                (_, _), self._test_set = load_mnist()
        x, y = self._test_set
        try:
            index = int(query["index"][0]) if "index" in query else int(np.random.default_rng().integers(len(x)))
        except ValueError:
            raise BadRequest(f"index should be a whole number; received {query['index'][0]!r}") from None
        if not 0 <= index < len(x):
            raise BadRequest(f"index should be between 0 and {len(x) - 1}; received {index}")
        return {"index": index, "label": int(y[index]), "image": (x[index] / 255.0).tolist()}

    def neuron(self, query: dict) -> dict:
        """``GET /api/neuron``: what one neuron is connected to."""
        try:
            layer, index = int(query["layer"][0]), int(query["index"][0])
        except (KeyError, ValueError):
            raise BadRequest("ask for /api/neuron?layer=L&index=J (whole numbers)") from None
        n_layers = len(self.network.weights)
        if not 1 <= layer <= n_layers:
            raise BadRequest(f"layer should be 1..{n_layers}; received layer={layer}")
        if not 0 <= index < self.network.sizes[layer]:
            raise BadRequest(f"index should be 0..{self.network.sizes[layer] - 1} in layer {layer}; received index={index}")
        w = self.network.weights[layer - 1][index]  # (n_in,): one weight per neuron of the layer before
        answer = {"layer": layer, "index": index, "activation": self.network.activations[layer - 1],
                  "bias": float(self.network.biases[layer - 1][index]), "weights": w.tolist(),
                  "image": w.reshape(28, 28).tolist() if layer == 1 else None, "feeders": []}
        if layer > 1:
            for i in np.argsort(-np.abs(w))[:FEEDERS]:
                feeder = {"index": int(i), "weight": float(w[i]), "image": None}
                if layer == 2:
                    feeder["image"] = self.network.weights[0][i].reshape(28, 28).tolist()
                answer["feeders"].append(feeder)
        return answer


class _Handler(BaseHTTPRequestHandler):
    server: "ExploreServer"
    protocol_version = "HTTP/1.1"  # keep-alive: a stroke's readings reuse one connection
    # one write per answer, sent at once: headers and body written separately wait out the
    # client's delayed ACK (Nagle's algorithm), about 40 ms a request
    wbufsize = 2**16
    disable_nagle_algorithm = True

    def log_message(self, format, *args):
        pass  # quiet: in a notebook, stderr lines would land in whichever cell runs next

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        # the page may load nothing from anywhere else: it works offline, and a test proves it
        self.send_header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: dict) -> None:
        self._send(status, json.dumps(data, allow_nan=False).encode(), "application/json")

    def _host_ok(self) -> bool:
        # a web page elsewhere could point a DNS name at 127.0.0.1 ("rebinding"); its Host says so
        port = self.server.server_address[1]
        return self.headers.get("Host", "") in (f"127.0.0.1:{port}", f"localhost:{port}")

    def _answer(self, compute) -> None:
        try:
            self._json(HTTPStatus.OK, compute())
        except preprocess.EmptyImageError as e:
            self._json(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": str(e), "empty": True})
        except (BadRequest, ValueError) as e:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(e)})

    def do_GET(self):
        if not self._host_ok():
            return self._send(HTTPStatus.FORBIDDEN, b"wrong host", "text/plain")
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        explorer = self.server.explorer
        if url.path in STATIC:
            name, content_type = STATIC[url.path]
            body = resources.files("course.explore").joinpath("static", name).read_bytes()
            return self._send(HTTPStatus.OK, body, content_type)
        if url.path == "/favicon.ico":
            return self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
        routes = {"/api/network": explorer.info, "/api/digit": lambda: explorer.digit(query),
                  "/api/neuron": lambda: explorer.neuron(query)}
        if url.path in routes:
            return self._answer(routes[url.path])
        self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {url.path}"})

    do_HEAD = do_GET

    def do_POST(self):
        if not self._host_ok():
            return self._send(HTTPStatus.FORBIDDEN, b"wrong host", "text/plain")
        if urlsplit(self.path).path != "/api/read":
            return self._json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: {self.path}"})
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self.close_connection = True
            return self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE if length > MAX_BODY else HTTPStatus.LENGTH_REQUIRED,
                              {"error": f"send a JSON body of at most {MAX_BODY:,} bytes with its Content-Length"})

        def read():
            try:
                body = json.loads(self.rfile.read(length))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise BadRequest(f"the body is not JSON: {e}") from None
            if not isinstance(body, dict):
                raise BadRequest("the body should be a JSON object")
            return self.server.explorer.read(body)

        self._answer(read)


class ExploreServer(ThreadingHTTPServer):
    """The explorer on ``http://127.0.0.1:<port>/`` (port 0: any free one).

    ``start()`` serves from a daemon thread (a notebook keeps running); ``serve_forever()`` serves
    from the calling thread (the command line); ``stop()`` ends either.
    """

    daemon_threads = True

    def __init__(self, network: Network, *, port: int = 0, host: str = "127.0.0.1"):
        self.explorer = Explorer(network)
        super().__init__((host, port), _Handler)
        self._thread = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> "ExploreServer":
        self._thread = threading.Thread(target=self.serve_forever, name="course-explore", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port (safe to call twice)."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()
