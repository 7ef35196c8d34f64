"""``grader grade --scheduler`` on a real Dask cluster (a scheduler and two workers, each its own
process) gives exactly the results of grading on this machine."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import samples

DASK = str(Path(sys.executable).with_name("dask"))


def start(*args, log: Path) -> subprocess.Popen:
    return subprocess.Popen([DASK, *args], stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two single-threaded workers, started as the dask CLI starts them."""
    root = tmp_path_factory.mktemp("dask")
    address_file = root / "scheduler.json"
    common = ["--no-dashboard"]
    processes = [start("scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(address_file),
                       *common, log=root / "scheduler.log")]
    try:
        deadline = time.monotonic() + 60
        while not address_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(address_file.read_text())["address"]
        for i in range(2):
            processes.append(start("worker", "--scheduler-file", str(address_file), "--nthreads", "1",
                                   "--no-nanny", "--name", f"worker-{i}", *common, log=root / f"worker-{i}.log"))
        from dask.distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, root
    finally:
        for proc in reversed(processes):  # the workers first, while their scheduler can see them go
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def grade(*args, env=None):
    return subprocess.run([sys.executable, "-m", "grader.cli", "grade", "a1_neuron", *map(str, args), "--timeout", "2"],
                          capture_output=True, text=True, env=env)



def test_grading_on_dask_equals_grading_here(cluster, tmp_path, results):
    address, root = cluster
    expected = samples.sample_class("a1_neuron", tmp_path / "class")
    on_dask = grade(tmp_path / "class", "--out", tmp_path / "dask", "--scheduler", address)
    assert on_dask.returncode == 0, on_dask.stderr
    here = grade(tmp_path / "class", "--out", tmp_path / "here")
    assert here.returncode == 0, here.stderr
    assert (tmp_path / "dask" / "grades.csv").read_bytes() == (tmp_path / "here" / "grades.csv").read_bytes()
    assert results(tmp_path / "dask") == results(tmp_path / "here")
    assert len(results(tmp_path / "dask")) == len(expected)
    worked = [log.read_text() for log in sorted(root.glob("worker-*.log"))]
    assert all("Registered to" in text for text in worked)


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path):
    (tmp_path / "class" / "ada").mkdir(parents=True)
    samples.write_py(tmp_path / "class" / "ada", "a1_neuron")
    quick = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}  # Dask's own setting
    proc = grade(tmp_path / "class", "--out", tmp_path / "out", "--scheduler", "tcp://127.0.0.1:9", env=quick)
    assert proc.returncode == 2 and "could not reach the Dask scheduler" in proc.stderr


def test_a4_on_dask_equals_grading_here(cluster, graded_class, tmp_path, results):
    """A4 needs two kinds of fork server on each worker: NumPy, and Keras for build_model and
    for the saved digits.keras (graded by a child that loads no student code)."""
    address, _ = cluster
    here = graded_class("a4_digits")
    on_dask = subprocess.run([sys.executable, "-m", "grader.cli", "grade", "a4_digits", str(here.class_dir),
                              "--out", str(tmp_path / "dask"), "--scheduler", address, "--no-pictures"],
                             capture_output=True, text=True)
    assert on_dask.returncode == 0, on_dask.stderr
    assert (tmp_path / "dask" / "grades.csv").read_bytes() == (here.out / "grades.csv").read_bytes()
    assert results(tmp_path / "dask") == results(here.out)
