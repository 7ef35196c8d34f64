"""What confinement costs per sandboxed child, against a bare fork measured in the same run.

    .venv/bin/python benchmarks/bench_jail.py [--children 200]

Everything runs in a forked throwaway "server" (namespaces and uid changes never touch this
process). Prints milliseconds per child and ratios to the bare fork + exit + wait baseline:
``enter`` (rlimits, no_new_privs, Landlock, uid drop, environment, descriptors), ``reap`` (the
sweep after each child, the usual nothing-left case), and a per-child network namespace, which
is why ``Jail.for_server`` creates one namespace per server instead.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy  # noqa: F401  (a server is a warm NumPy process; fork cost depends on its size)

from grader.sandbox import jail
from grader.sandbox.jail import Jail, Limits

LIMITS = Limits(cpu_seconds=10, memory_bytes=2 * 2**30, output_bytes=2**20, processes=16)


def per_child(n: int, child, after=lambda pid: None) -> float:
    start = time.perf_counter()
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            try:
                child()
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        after(pid)
    return (time.perf_counter() - start) / n * 1e3


def server(n: int, base: str) -> dict:
    start = time.perf_counter()
    j = Jail.for_server(uid=1, base=base)
    setup = (time.perf_counter() - start) * 1e3
    workdir = tempfile.mkdtemp(dir=j.base)
    if j.uid:
        os.chown(workdir, j.uid, j.uid)
    bare = per_child(n, lambda: None)
    entered = per_child(n, lambda: j.enter(LIMITS, workdir=workdir))
    reaped = per_child(n, lambda: j.enter(LIMITS, workdir=workdir), after=lambda pid: j.reap(pid))
    netns = per_child(n, lambda: jail._unshare(jail.CLONE_NEWNET)) if os.geteuid() == 0 else float("nan")
    return {"active": j.active, "setup": setup, "bare": bare, "enter": entered, "enter+reap": reaped, "netns": netns}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=200)
    args = parser.parse_args()
    base = tempfile.mkdtemp(prefix="bench-jail-")
    os.chmod(base, 0o711)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        os.write(write_fd, json.dumps(server(args.children, base)).encode())
        os._exit(0)
    os.close(write_fd)
    data = b""
    while chunk := os.read(read_fd, 1 << 16):
        data += chunk
    os.waitpid(pid, 0)
    os.rmdir(base)
    r = json.loads(data)
    print(f"jail: {', '.join(r['active'])}; set up once per server in {r['setup']:.1f} ms")
    print(f"{'per child':<34}{'ms':>8}{'x bare fork':>13}")
    for key, label in [("bare", "fork + exit + wait (baseline)"), ("enter", "... + jail.enter"),
                       ("enter+reap", "... + jail.enter + jail.reap"), ("netns", "... + a network namespace")]:
        print(f"{label:<34}{r[key]:>8.3f}{r[key] / r['bare']:>13.2f}")


if __name__ == "__main__":
    main()
