"""``course explore [--weights FILE | --model digits.keras] [--port P] [--no-browser]``.

Serves the explorer from the calling thread until Ctrl-C, which stops it cleanly (exit 0).
"""
from __future__ import annotations

import argparse
import sys
import webbrowser


def add_parser(sub) -> None:
    """The ``explore`` subcommand, on ``course``'s subparsers."""
    e = sub.add_parser("explore", help="draw a digit and watch a network read it, in your browser",
                       description="Start a local web page where you draw a digit and watch every layer of "
                                   "a network light up. Default: the course's pre-trained 784-16-16-10 network.")
    which = e.add_mutually_exclusive_group()
    which.add_argument("--weights", metavar="FILE.npz",
                       help="your network, saved by course.explore.save_weights(path, weights, biases)")
    which.add_argument("--model", metavar="FILE.keras",
                       help="a saved Keras model of Dense layers (read without TensorFlow, no code run)")
    e.add_argument("--port", type=_port, default=0, help="port on 127.0.0.1 (default: any free one)")
    e.add_argument("--no-browser", action="store_true", help="only print the address; don't open a browser")


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535 (0: any free one); received {value!r}")
    return port


def main(args: argparse.Namespace) -> int:
    from course.explore import network_from
    from course.explore.server import ExploreServer

    try:
        network = network_from(model=args.model or args.weights)
    except (OSError, ValueError) as e:
        print(f"course explore: {e}", file=sys.stderr)
        return 2
    try:
        server = ExploreServer(network, port=args.port)
    except OSError as e:
        print(f"course explore: can't listen on 127.0.0.1:{args.port}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(f"Exploring {network.name} ({'-'.join(map(str, network.sizes))}) at {server.url}", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    if not args.no_browser:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nStopped.", flush=True)
    finally:
        server.server_close()
    return 0
