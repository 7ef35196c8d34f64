"""``grader grade --scheduler`` on a real Dask cluster (a scheduler and two workers, each its own
process) gives exactly the results of grading on this machine."""
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.authoring import samples

from .conftest import children, cmdline, ready_plan, scores

DASK = str(Path(sys.executable).with_name("dask"))


def start(*args, log: Path, prefix: tuple = ()) -> subprocess.Popen:
    return subprocess.Popen([*prefix, DASK, *args], stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


@contextlib.contextmanager
def running(root: Path, workers: list[tuple[tuple, list[str]]]):
    """A scheduler and ``workers`` (each: what its command starts with, then ``dask worker``'s
    options), started as the dask CLI starts them; yields the scheduler's address and the
    workers' processes, and stops them all."""
    address_file = root / "scheduler.json"
    processes = [start("scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(address_file),
                       "--no-dashboard", log=root / "scheduler.log")]
    try:
        deadline = time.monotonic() + 60
        while not address_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(address_file.read_text())["address"]
        for i, (prefix, options) in enumerate(workers):
            processes.append(start("worker", "--scheduler-file", str(address_file), "--no-nanny", "--no-dashboard",
                                   *options, log=root / f"worker-{i}.log", prefix=prefix))
        from dask.distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(len(workers), timeout=60)
        yield address, processes[1:]
    finally:
        for proc in reversed(processes):  # the workers first, while their scheduler can see them go
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two workers, of one thread and of two."""
    root = tmp_path_factory.mktemp("dask")
    workers = [((), ["--nthreads", str(i + 1), "--name", f"worker-{i}"]) for i in range(2)]
    with running(root, workers) as (address, processes):
        yield address, root, [proc.pid for proc in processes]


@pytest.fixture(scope="module")
def blind_cluster(tmp_path_factory):
    """A scheduler and a worker that cannot see the folder it yields: the worker runs in a mount
    namespace of its own where an empty tmpfs covers it, as a worker on another machine would
    see none of this one's files."""
    root = tmp_path_factory.mktemp("blind")
    unseen = root / "unseen"
    unseen.mkdir()
    blind = ("unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount -t tmpfs blind "$1" && shift && exec "$@"', "sh", str(unseen))
    probe = subprocess.run([*blind, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"no mount namespace of its own here (root only): {probe.stderr.strip()[-200:]}")
    with running(root, [(blind, ["--nthreads", "1"])]) as (address, _):
        yield address, unseen


def grade(*args, env=None):
    return subprocess.run([sys.executable, "-m", "grader.cli", "grade", "a1_neuron", *map(str, args), "--timeout", "2"],
                          capture_output=True, text=True, env=env)


def test_grading_on_dask_equals_grading_here(cluster, tmp_path, results):
    address, root, workers = cluster
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
    # as root, the worker of two threads forked their fork servers from a zygote of its own
    zygotes = [[p for p in children(w) if "grader.sandbox.server" in cmdline(p) and "--zygote" in cmdline(p)]
               for w in workers]
    assert [len(z) for z in zygotes] == [0, int(os.geteuid() == 0)], zygotes


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path):
    (tmp_path / "class" / "ada").mkdir(parents=True)
    samples.write_py(tmp_path / "class" / "ada", "a1_neuron")
    quick = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}  # Dask's own setting
    proc = grade(tmp_path / "class", "--out", tmp_path / "out", "--scheduler", "tcp://127.0.0.1:9", env=quick)
    assert proc.returncode == 2 and "could not reach the Dask scheduler" in proc.stderr
    proc = grade(tmp_path / "class", "--out", tmp_path / "out", "--scheduler", "scheduler-host", env=quick)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "'scheduler-host' is not a Dask scheduler address, such as tcp://HOST:8786" in proc.stderr


def test_a4_on_dask_equals_grading_here(cluster, graded_class, tmp_path, results):
    """A4 needs two kinds of fork server on each worker: NumPy, and Keras for build_model and
    for the saved digits.keras (graded by a child that loads no student code)."""
    address, *_ = cluster
    here = graded_class("a4_digits")
    on_dask = subprocess.run([sys.executable, "-m", "grader.cli", "grade", "a4_digits", str(here.class_dir),
                              "--out", str(tmp_path / "dask"), "--scheduler", address, "--no-pictures"],
                             capture_output=True, text=True)
    assert on_dask.returncode == 0, on_dask.stderr
    assert (tmp_path / "dask" / "grades.csv").read_bytes() == (here.out / "grades.csv").read_bytes()
    assert results(tmp_path / "dask") == results(here.out)


def hostile_corpus():
    """``tests/hostile/corpus.py`` (pytest imports test folders by path, not as packages)."""
    import importlib.util

    if "hostile_corpus" not in sys.modules:
        path = Path(__file__).parents[1] / "hostile" / "corpus.py"
        spec = importlib.util.spec_from_file_location("hostile_corpus", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return sys.modules["hostile_corpus"]


HOSTILE = ("lie_object_eq", "lie_nan", "lie_object_dtype", "patch_builtins_and_codec", "steal_injected_callee",
           "read_solution_notebook", "sys_exit", "exit_while_loading", "forged_result_frame", "pickle_bomb_return",
           "fork_bomb", "binary_file", "missing_file")
"""attacks whose results say nothing about where they ran (no paths, no process ids)"""


def test_one_worker_many_workers_and_dask_give_byte_identical_results(cluster, tmp_path, results, a1_plan):
    """Correct students, every named mistake, stubs, a timeout and hostile submissions: the same
    files (timings aside) whoever grades and judges them."""
    address, *_ = cluster
    from course import exercises

    expected = samples.sample_class("a1_neuron", tmp_path / "class")  # with an infinite loop: a timeout
    samples.write_py(tmp_path / "class" / "stubs_py", "a1_neuron", samples.stub_sources("a1_neuron"))
    expected["stubs_py"] = samples.expected_scores(exercises.assignment("a1_neuron"), all_lost=True)
    corpus = hostile_corpus()
    ctx = corpus.Context(repo=Path(__file__).parents[2], class_dir=tmp_path / "class", out_dir=tmp_path / "w1",
                         marker=tmp_path / "marker", port=9)
    for case in corpus.all_cases():
        if case.name in HOSTILE:
            case.write(ctx)
            expected[case.name] = corpus.expected_scores(case)
    outs = {"w1": ["--workers", "1"], "w3": ["--workers", "3"], "dask": ["--scheduler", address]}
    for name, how in outs.items():
        proc = grade(tmp_path / "class", "--out", tmp_path / name, "--plan", a1_plan, *how)
        assert proc.returncode == 0, proc.stderr
    assert scores(tmp_path / "w1", expected) == expected
    assert not (tmp_path / "marker").exists()

    def histogram(out):  # drawn by a local worker, or a Dask one (the report lists timings too)
        return (out / "report.html").read_text(encoding="utf-8").split("<figure id='histogram'>")[1].split("</figure>")[0]

    for name in ("w3", "dask"):
        assert (tmp_path / name / "grades.csv").read_bytes() == (tmp_path / "w1" / "grades.csv").read_bytes()
        assert histogram(tmp_path / name) == histogram(tmp_path / "w1")
        assert results(tmp_path / name) == results(tmp_path / "w1")
        for folder in ("feedback", "instructor"):  # the student's pages, and the instructor's copies
            pages = sorted(p.name for p in (tmp_path / "w1" / folder).iterdir())
            assert len(pages) == len(expected)
            assert sorted(p.name for p in (tmp_path / name / folder).iterdir()) == pages
            for page in pages:
                assert (tmp_path / name / folder / page).read_bytes() == \
                    (tmp_path / "w1" / folder / page).read_bytes(), (name, folder, page)


@pytest.mark.parametrize("sees", [True, False], ids=["workers that see the folder", "a worker that does not"])
def test_dask_workers_write_the_files_where_they_see_the_output_folder(request, sees, tmp_path, a1_plan, results):
    """A Dask worker that sees ``--out`` (the same file system) writes each student's files there
    itself and sends back the results only, as a local worker does: writing them, the one
    ``grader grade`` process capped a whole cluster. One that does not see it sends the pages, and
    ``grader grade`` writes them. The files are the local pool's, byte for byte, either way."""
    from grader.grading import distributed, pool
    from grader.grading.results import clean_partial_writes
    from grader.grading.submissions import discover

    address, where = ((request.getfixturevalue("cluster")[0], tmp_path) if sees
                      else request.getfixturevalue("blind_cluster"))
    samples.synthetic_class("a1_neuron", tmp_path / "class", 12)
    subs = discover(tmp_path / "class", "a1_neuron")
    fingerprints = {s.student: "f" for s in subs}
    options = {"pictures": False}
    local, out = tmp_path / "local", where / f"dask-{sees}"
    pool.grade_local(subs, ready_plan(a1_plan), [()], workers=1, fingerprints=fingerprints, finish=lambda done: None,
                     started=lambda: None, usage={}, feedback_options=options, out=local)
    clean_partial_writes(out)
    got = []

    def finish(done):  # as ``grader grade`` does
        got.append((done, done.written))
        if not done.written:
            done.write(out)

    distributed.grade_all(address, subs, ready_plan(a1_plan), fingerprints, finish, lambda: None, usage={},
                          feedback_options=options, out=out)
    assert sorted(done.student for done, _ in got) == sorted(s.student for s in subs)
    if sees:  # sent back without the pages: the worker wrote them
        assert all(written and not done.feedback and done.instructor is None for done, written in got)
    else:
        assert not any(written for _, written in got)
        assert all(done.feedback and done.instructor for done, _ in got)
    assert results(out) == results(local) and len(results(out)) == len(subs)
    for folder in ("feedback", "instructor"):
        names = sorted(p.name for p in (local / folder).iterdir())
        assert sorted(p.name for p in (out / folder).iterdir()) == names and len(names) == len(subs)
        for name in names:
            assert (out / folder / name).read_bytes() == (local / folder / name).read_bytes(), (folder, name)
    assert not list(out.glob(".*")) and not list(out.glob("*/.*.tmp"))  # no token, no temporary file left


def test_a_dask_worker_writes_only_for_the_run_it_sees_and_only_while_it_runs(tmp_path, a1_plan):
    """``grade_chunk`` (here in this process, as a worker thread runs it) writes the files only
    when the run's token is the one it reads in ``--out``, and not once the run has ended (its
    folder removed): a later run may be grading the same students."""
    from course import codec
    from grader.grading import distributed
    from grader.grading.submissions import discover

    samples.synthetic_class("a1_neuron", tmp_path / "class", 6)
    items = [distributed.pack(sub, "f") for sub in discover(tmp_path / "class", "a1_neuron")]
    data = codec.encode(ready_plan(a1_plan).result().to_plain())
    out = tmp_path / "out"
    folder = distributed.share_folder(out)
    assert oct(os.stat(folder["path"]).st_mode & 0o777) == "0o700"
    forged = {**folder, "token": "0" * len(folder["token"])}  # another run's, or another machine's folder

    def written(chunk, seen_as):
        done = distributed.grade_chunk(data, chunk, {"pictures": False}, seen_as)["finished"]
        assert len(done) == len(chunk)
        for plain in done:  # either the files are on disk, or their pages came back
            on_disk = (out / "results" / f"{plain['student']}.json").exists()
            assert plain["written"] == on_disk == ("feedback" not in plain)
        return [plain["written"] for plain in done]

    try:
        assert written(items[:2], folder) == [True, True]
        assert written(items[2:4], forged) == [False, False]
        shutil.rmtree(folder["path"])  # the run is over
        assert written(items[4:], folder) == [False, False]
        [scratch] = distributed._scratch  # where this process's fork servers keep their folders
        assert os.listdir(scratch.path)
    finally:
        distributed.close_all()  # this process's fork servers: none may outlive the test
    assert not [p for p in children(os.getpid()) if "grader.sandbox.server" in cmdline(p)]
    assert not os.path.exists(scratch.path)


def test_a_class_is_cut_into_tasks_that_reach_every_thread_and_are_few_when_it_is_big():
    from grader.grading.distributed import MAX_CHUNK, TASKS_PER_THREAD_IN_ALL, chunk_size

    for students, threads in ((30, 16), (5, 64), (1, 1)):  # a small class: one submission a task
        assert chunk_size(students, threads) == 1
    assert chunk_size(600, 2) == MAX_CHUNK  # a big class on a small cluster: few, big tasks
    size = chunk_size(2000, 16)
    assert size < MAX_CHUNK and -(-2000 // size) >= 16 * TASKS_PER_THREAD_IN_ALL  # and still many per thread


def test_a_task_takes_fewer_submissions_once_their_files_are_big():
    from collections import deque

    from grader.grading.distributed import MAX_TASK_BYTES, take

    mib = 2**20
    waiting = deque([("a", 1), ("b", 40), ("c", 40), ("d", 100), ("e", 1), ("f", 1)])  # (student, MiB of files)
    packed = lambda sub: {"student": sub[0], "files": {"x": b"\0" * (sub[1] * mib)}}  # noqa: E731
    tasks = []
    while waiting:
        tasks.append([item["student"] for item in take(waiting, 4, packed)])
    assert MAX_TASK_BYTES == 64 * mib
    assert tasks == [["a", "b", "c"], ["d"], ["e", "f"]]  # over the budget: the task closes; one alone always goes


def test_a_submission_the_grader_could_not_read_comes_back_from_a_dask_task_as_a_grader_fault(tmp_path, a1_plan):
    """``Submission.fault`` travels in the task: the worker returns no score, only the reason."""
    import json

    from course import codec
    from grader.grading import distributed
    from grader.grading.submissions import Submission

    (tmp_path / "s").mkdir()
    fault = "the grader could not read s/a1_neuron.py (Permission denied): make it readable"
    item = distributed.pack(Submission("s", tmp_path / "s", None, fault=fault), "f")
    data = codec.encode(ready_plan(a1_plan).result().to_plain())
    try:
        [done] = distributed.grade_chunk(data, [item], {"pictures": False})["finished"]
    finally:
        distributed.close_all()
    extra = json.loads(done["results_text"])["extra_data"]
    assert (extra["grader_fault"], extra["fingerprint"]) == (fault, "")
    assert done["row"]["score"] == ""
