"""How fast ``course explore`` answers a stroke: the server's time per ``POST /api/read``.

While you draw, the page sends the pad (280×280, its alpha channel as base64, as the browser
sends it) about every 60 ms and once more when the stroke ends. This times, per request, on
strokes made from real MNIST test digits drawn at 150-250 pixels on the pad:

1. the steps alone: decoding the pad, MNIST-style preprocessing, the NumPy forward pass;
2. ``Explorer.read``, everything the server computes for one request;
3. the whole HTTP round trip on a kept-alive connection (client and server in this process),
   against the cheapest request there is, ``GET /api/network``, measured in the same run.

    .venv/bin/python benchmarks/explore_latency.py [--n 300]

Wall time (median, 95th percentile, mean) and CPU time (this process, all threads: the client's
share included in the round trips; mean per request) per request. Timings on a shared machine are
noisy: compare the ratios, and run it twice.
"""
from __future__ import annotations

import argparse
import base64
import http.client
import json
import statistics
import time

import numpy as np

from course.data import load_mnist
from course.explore.network import pretrained
from course.explore.preprocess import mnist_like, resize
from course.explore.server import ExploreServer, _image


def pads(n: int) -> list[dict]:
    """``n`` request bodies: test digits drawn big somewhere on the 280×280 pad."""
    (_, _), (x_test, _) = load_mnist()
    rng = np.random.default_rng(0)
    bodies = []
    for digit in x_test[:n] / 255.0:
        side = int(rng.integers(150, 251))
        top, left = rng.integers(0, 281 - side, size=2)
        pad = np.zeros((280, 280), dtype=np.uint8)
        pad[top:top + side, left:left + side] = np.round(255 * np.clip(resize(digit, side, side), 0, 1))
        bodies.append({"width": 280, "height": 280, "alpha": base64.b64encode(pad.tobytes()).decode()})
    return bodies


def timed(fn, items) -> tuple[list[float], float]:
    """(wall ms per item, CPU ms per item) of ``fn`` over ``items``."""
    walls = []
    cpu = time.process_time()
    for item in items:
        start = time.perf_counter()
        fn(item)
        walls.append((time.perf_counter() - start) * 1e3)
    return walls, (time.process_time() - cpu) * 1e3 / len(items)


def row(name: str, walls: list[float], cpu: float, base: float | None) -> str:
    median = statistics.median(walls)
    p95 = float(np.percentile(walls, 95))
    ratio = f"{median / base:6.2f}x" if base else "  base "
    return f"  {name:<40} {median:7.3f} {p95:7.2f} {statistics.mean(walls):7.2f} {cpu:8.3f}   {ratio}"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=300, help="requests per measurement")
    args = p.parse_args()
    network = pretrained()
    bodies = pads(args.n)
    images = [_image(b) for b in bodies]
    digits = [mnist_like(i) for i in images]
    server = ExploreServer(network).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1])

        def get(_):
            conn.request("GET", "/api/network")
            json.loads(conn.getresponse().read())

        def post(body):
            conn.request("POST", "/api/read", json.dumps(body), {"Content-Type": "application/json"})
            answer = json.loads(conn.getresponse().read())
            assert "guess" in answer, answer

        for fn, items in ((get, range(20)), (post, bodies[:20]), (server.explorer.read, bodies[:20])):
            timed(fn, items)  # warm up: imports, caches, the connection
        forward = timed(lambda d: network.forward(d.reshape(784)), digits)
        results = [
            ("forward pass (NumPy)", forward),
            ("decode the pad (base64 -> array)", timed(_image, bodies)),
            ("preprocess (crop, 20x20, centre)", timed(mnist_like, images)),
            ("Explorer.read (all the server computes)", timed(server.explorer.read, bodies)),
        ]
        http_base = timed(get, range(args.n))
        http_read = timed(post, bodies)
        conn.close()
    finally:
        server.stop()
    base = statistics.median(forward[0])
    print(f"{args.n} strokes (test digits drawn 150-250 px on the 280x280 pad), per request:")
    print(f"  {'':<40} {'median':>7} {'p95':>7} {'mean':>7} {'CPU':>8}   median vs forward")
    print(f"  {'':<40} {'ms':>7} {'ms':>7} {'ms':>7} {'ms':>8}")
    for name, (walls, cpu) in results:
        print(row(name, walls, cpu, base if name != "forward pass (NumPy)" else None))
    hb = statistics.median(http_base[0])
    print(f"  {'':<40} {'':>7} {'':>7} {'':>7} {'':>8}   median vs GET /api/network")
    print(row("GET /api/network round trip", *http_base, None))
    print(row("POST /api/read round trip", *http_read, hb))


if __name__ == "__main__":
    main()
