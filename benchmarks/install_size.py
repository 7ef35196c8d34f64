"""What each install option costs: megabytes installed and seconds to install, into fresh venvs.

Run: ``python3 benchmarks/install_size.py [--options base keras grader] [--no-cache]``. It builds
the project's wheel once (``pip wheel --no-deps``), then for each option creates an empty venv,
installs ``digits-course[<option>]`` from that wheel (dependencies from PyPI) and prints:

- the seconds ``pip install`` took (wall and CPU, the CPU time of pip and its children);
- the megabytes the install added to the venv (everything under it, minus the empty venv's size);
- how many distributions it installed.

pip's cache (``~/.cache/pip``) makes repeated runs quicker than a first install on a new laptop,
where downloading dominates; ``--no-cache`` measures a cold install instead (network-bound).
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tree_bytes(path: Path) -> int:
    """Bytes of every regular file under ``path`` (symlinks not followed)."""
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                total += os.stat(p).st_size
    return total


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def build_wheel(out: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(ROOT)],
                   check=True)
    return next(out.glob("digits_course-*.whl"))


def measure(wheel: Path, option: str, work: Path, *, cache: bool) -> dict:
    venv = work / f"venv-{option}"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    empty = tree_bytes(venv)
    spec = str(wheel) if option == "base" else f"digits-course[{option}] @ {wheel.as_uri()}"
    cmd = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if not cache:
        cmd.append("--no-cache-dir")
    cpu0, t0 = child_cpu(), time.perf_counter()
    subprocess.run(cmd + [spec], check=True)
    seconds, cpu = time.perf_counter() - t0, child_cpu() - cpu0
    listing = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
                             check=True, capture_output=True, text=True).stdout.split()
    return {"option": option, "seconds": seconds, "cpu": cpu, "mb": (tree_bytes(venv) - empty) / 1e6,
            "packages": len(listing)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--options", nargs="*", default=["base", "keras", "grader"])
    p.add_argument("--no-cache", action="store_true", help="don't use pip's cache (a cold install)")
    args = p.parse_args(argv)
    print(f"python {sys.version.split()[0]}; pip cache {'off' if args.no_cache else 'on'}; "
          f"load average before: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="digits-install-") as tmp:
        work = Path(tmp)
        wheel = build_wheel(work / "wheel")
        print(f"wheel: {wheel.name}, {wheel.stat().st_size / 1e6:.1f} MB")
        print("| install | MB installed | seconds (wall) | CPU s | distributions |")
        print("|---|---|---|---|---|")
        for option in args.options:
            r = measure(wheel, option, work, cache=not args.no_cache)
            name = "digits-course" if option == "base" else f"digits-course[{option}]"
            print(f"| `{name}` | {r['mb']:,.0f} | {r['seconds']:.0f} | {r['cpu']:.0f} | {r['packages']} |", flush=True)


if __name__ == "__main__":
    main()
