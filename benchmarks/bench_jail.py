"""What confinement costs per sandboxed child, against a bare fork measured in the same run.

    .venv/bin/python benchmarks/bench_jail.py [--children 200]

Everything runs in a forked throwaway "server" (namespaces and uid changes never touch this
process). Prints milliseconds per child and ratios to the bare fork + exit + wait baseline:
``enter`` (rlimits, no_new_privs, Landlock, uid drop, environment, descriptors), ``reap`` (the
sweep after each child, the usual nothing-left case), a per-child network namespace, which
is why ``Jail.for_server`` creates one namespace per server instead, and on their own the two
parts ``enter`` gained for issue 15: the seccomp filter (one ``prctl`` with a program compiled
once per server) and the child's cgroup leaf (made, joined, then killed and removed by the
server, as after every child).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time

import numpy  # noqa: F401  (a server is a warm NumPy process; fork cost depends on its size)

from grader.sandbox import jail
from grader.sandbox.jail import Jail, Limits

LIMITS = Limits(cpu_seconds=10, memory_bytes=2 * 2**30, output_bytes=2**20, processes=16)


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children so far."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


CPU: dict[str, float] = {}
"""CPU milliseconds per child of the last ``per_child`` run under each label"""


def per_child(n: int, child, after=lambda pid: None, label: str = "") -> float:
    start, cpu = time.perf_counter(), _cpu()
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            try:
                child()
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        after(pid)
    CPU[label] = (_cpu() - cpu) / n * 1e3
    return (time.perf_counter() - start) / n * 1e3


def server(n: int, base: str) -> dict:
    start = time.perf_counter()
    j = Jail.for_server(uid=1, base=base)
    setup = (time.perf_counter() - start) * 1e3
    workdir = tempfile.mkdtemp(dir=j.base)
    if j.uid:
        os.chown(workdir, j.uid, j.uid)
    bare = per_child(n, lambda: None, label="bare")
    entered = per_child(n, lambda: j.enter(LIMITS, workdir=workdir), label="enter")
    reaped = per_child(n, lambda: j.enter(LIMITS, workdir=workdir), after=lambda pid: j.reap(pid), label="enter+reap")
    netns = per_child(n, lambda: jail._unshare(jail.CLONE_NEWNET), label="netns") if os.geteuid() == 0 else float("nan")
    nan = float("nan")
    seccomp_filter = nan
    if j.filter:
        seccomp_filter = per_child(n, lambda: (jail._prctl(jail.PR_SET_NO_NEW_PRIVS, 1), j.filter.enter()),
                                   label="seccomp")
    cgroup_leaf = nan
    if j.cgroups:
        cgroup_leaf = per_child(n, lambda: j.cgroups.join(LIMITS.memory_bytes, LIMITS.processes),
                                after=lambda pid: j.cgroups.remove(pid), label="cgroup")
    missing = j.missing()
    j.close()
    return {"cpu": CPU, "active": j.active, "missing": missing, "setup": setup, "bare": bare, "enter": entered,
            "enter+reap": reaped, "netns": netns, "seccomp": seccomp_filter, "cgroup": cgroup_leaf}


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
    for line in r["missing"]:
        print(f"not in force: {line}")
    print(f"{'per child':<34}{'wall ms':>8}{'x bare fork':>13}{'CPU ms':>8}{'x bare fork':>13}")
    for key, label in [("bare", "fork + exit + wait (baseline)"), ("enter", "... + jail.enter"),
                       ("enter+reap", "... + jail.enter + jail.reap"), ("netns", "... + a network namespace"),
                       ("seccomp", "... + the seccomp filter alone"), ("cgroup", "... + a cgroup leaf alone")]:
        cpu, bare_cpu = r["cpu"].get(key, float("nan")), r["cpu"]["bare"]
        print(f"{label:<34}{r[key]:>8.3f}{r[key] / r['bare']:>13.2f}{cpu:>8.3f}{cpu / bare_cpu:>13.2f}")


if __name__ == "__main__":
    main()
