"""Tests for ``grader.sandbox``: one child per submission, functions streamed in grading order.

They drive a real fork server (no Keras: the public fixtures carry the answers) and judge its
replies exactly as ``grader grade`` does.
"""
import os
import re
import signal
import threading
import time
from pathlib import Path

import pytest

from course import exercises
from course.calls import Outcome
from course.judge import judge_all
from grader.authoring import samples
from grader.authoring.solutions import callee_sources
from grader.grading.grade import judge_reply
from grader.grading.plan import grading_order, public_plan
from grader.grading.submissions import Submission
from grader.sandbox.client import Sandbox, SandboxDied, decode_reply
from grader.sandbox.frames import HEADER, IOV_MAX, FrameReader, pack, pack_envelope, unpack_envelope, write_fd
from grader.sandbox.scratch import Scratch

A1 = exercises.assignment("a1_neuron")


@pytest.fixture(scope="module")
def plan():
    return public_plan("a1_neuron", timeout=1.0)


@pytest.fixture(scope="module")
def sandbox(plan):
    with Sandbox() as box:
        box.configure(plan.functions, load_timeout=plan.load_timeout)
        yield box


def graded(tmp_path, sandbox, plan, overrides=None, *, source=None):
    """Grade one .py submission; returns (decoded reply, per-function scores)."""
    folder = tmp_path / "student"
    if source is None:
        path = samples.write_py(folder, "a1_neuron", overrides)
    else:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "a1_neuron.py"
        path.write_text(source)
    reply = decode_reply(sandbox.grade(str(path)))
    result = judge_reply(Submission("student", folder, path), plan, reply, fingerprint="x")
    return reply, result.scores()


def test_grading_order_puts_every_callee_before_its_callers():
    order = [ex.name for ex in grading_order(A1)]
    for ex in A1.exercises:
        assert all(order.index(callee) < order.index(ex.name) for callee in ex.calls), ex.name


def test_grading_order_refuses_a_cycle():
    from course.exercises.base import Assignment, Exercise

    looped = Assignment("x", "x", (Exercise("f", 1, calls=("g",)), Exercise("g", 1, calls=("f",))))
    with pytest.raises(ValueError, match="cycle"):
        grading_order(looped)


def test_one_child_grades_every_function_of_a_correct_submission(tmp_path, sandbox, plan):
    reply, scores = graded(tmp_path, sandbox, plan)
    assert reply["children"] == 1
    assert [f["name"] for f in reply["functions"]] == [ex.name for ex in grading_order(A1)]
    assert scores == samples.expected_scores(A1)


def test_an_infinite_loop_costs_only_its_own_function(tmp_path, sandbox, plan):
    loop = samples.MISTAKES["a1_neuron"]["infinite_loop"]
    start = time.perf_counter()
    reply, scores = graded(tmp_path, sandbox, plan, {loop.function: loop.source})
    assert time.perf_counter() - start < 5, "the deadline is per function (1 s here)"
    status = {f["name"]: f["status"] for f in reply["functions"]}
    assert status[loop.function] == "timeout"
    assert reply["children"] == 2, "a fresh child grades the functions after the hung one"
    assert scores == samples.expected_scores(A1, (loop.function,))


def test_a_function_that_kills_its_process_costs_only_itself(tmp_path, sandbox, plan):
    reply, scores = graded(tmp_path, sandbox, plan, {"sigmoid": "def sigmoid(z):\n    import os\n    os._exit(3)\n"})
    sigmoid = next(f for f in reply["functions"] if f["name"] == "sigmoid")
    assert sigmoid["status"] == "crashed" and "status 3" in sigmoid["detail"]
    assert scores == samples.expected_scores(A1, ("sigmoid",))


def test_a_submission_that_imports_matplotlib_is_graded_by_the_zygote(tmp_path, plan):
    """Notebooks often import matplotlib: a copy of the server that imported it grades them.

    (A server of its own: the zygote stays, as part of that server, for the next such submission.)
    """
    with Sandbox() as box:
        box.configure(plan.functions, load_timeout=plan.load_timeout)
        reply, scores = graded(tmp_path, box, plan, {"_extra": "import matplotlib.pyplot as plt\n"})
        one_off = box.run({"function": "relu", "cases": plan.requests["relu"]["cases"], "timeout": 5.0,
                           "submission": str(tmp_path / "student" / "a1_neuron.py")})
    assert reply["status"] == "ok", reply
    assert scores == samples.expected_scores(A1)
    assert one_off["status"] == "ok" and len(one_off["result"]["outcomes"]) == len(plan.requests["relu"]["cases"])


def test_a_submission_that_hangs_while_loading_gets_zero_with_a_reason(tmp_path, sandbox, plan):
    reply, scores = graded(tmp_path, sandbox, plan, source="class Hang:\n    while True:\n        pass\n")
    assert reply["load"]["status"] == "timeout"
    assert all(f["status"] == "not_run" and "could not be loaded" in f["detail"] for f in reply["functions"])
    assert set(scores.values()) == {0.0}


STEALER = '''
import gc
import numpy as np


def _stolen(name):
    """A correct version of ``name`` from anywhere reachable in this process (function or source)."""
    seen, todo = set(), list(gc.get_objects())
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if callable(obj) and getattr(obj, "__name__", "") == name and getattr(obj, "__module__", "") == "__reference__":
            return obj
        if isinstance(obj, str):
            if f"def {name}(" in obj and "_stolen" not in obj:
                space = {}
                exec(obj, space)
                return space[name]
            continue
        todo.extend(gc.get_referents(obj))
    return None


def sigmoid(z):
    correct = _stolen("sigmoid")
    return correct(z) if correct else np.zeros_like(np.asarray(z, dtype=float)) - 1.0
'''


def test_a_correct_callee_is_not_in_the_child_before_its_caller_is_graded(tmp_path, sandbox, plan):
    """Could a sigmoid steal the correct sigmoid meant for grading ``neuron``? (It can't.)"""
    program = samples.solution_program("a1_neuron", {"sigmoid": STEALER})
    _, scores = graded(tmp_path, sandbox, plan, source=program)
    assert scores["sigmoid"] == 0
    assert scores["neuron"] == A1["neuron"].points, "neuron is graded with the correct sigmoid"


def test_the_stealer_does_find_a_correct_callee_that_is_in_the_child(tmp_path, sandbox, plan):
    """The control: the same sigmoid passes when the correct one sits in its request's memory."""
    path = tmp_path / "a1_neuron.py"
    path.write_text(samples.solution_program("a1_neuron", {"sigmoid": STEALER}))
    leak = {**plan.requests["sigmoid"], "leaked": callee_sources("a1_neuron", ("sigmoid",))}
    reply = decode_reply(sandbox.grade(str(path), functions=[leak]))
    outcomes = [Outcome.from_plain(o) for o in reply["functions"][0]["data"]["outcomes"]]
    assert judge_all(A1["sigmoid"], plan.cases["sigmoid"], outcomes).passed


def server_descendants(pid: int) -> set[int]:
    """Live processes below a fork server (a subreaper: orphans of its children end up here)."""
    found, todo = set(), [pid]
    while todo:
        for task in os.listdir(f"/proc/{todo.pop()}/task"):
            try:
                children = {int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()}
            except OSError:
                continue
            for child in children - found:
                try:
                    if Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                        found.add(child)
                        todo.append(child)
                except OSError:
                    pass
    return found


def test_a_function_that_leaves_a_process_running_fails_and_nothing_outlives_its_grading(tmp_path, sandbox, plan):
    daemon = ("def relu(z):\n    import os, time\n    if os.fork() == 0:\n        os.setsid()\n"
              "        time.sleep(30)\n        os._exit(0)\n"
              "    time.sleep(0.01)\n    import numpy as np\n    return np.maximum(0, z)\n")
    for _ in range(20):  # the child must not run ahead: relu's processes are never blamed on sigmoid
        reply, scores = graded(tmp_path, sandbox, plan, {"relu": daemon})
        assert scores == {**samples.expected_scores(A1), "relu": 0.0}
        [relu] = [f for f in reply["functions"] if f["name"] == "relu"]
        assert relu["status"] == "left_running" and re.search(r"left \d+ process(es)? running", relu["detail"])
        assert reply["children"] == 2  # a fresh child graded the functions after relu
        assert server_descendants(sandbox.process.pid) == set()


def test_frames_arrive_whole_however_the_bytes_are_cut():
    reader = FrameReader(max_size=100)
    data = pack(b"hello") + pack(b"") + pack(b"world!")
    frames = []
    for i in range(0, len(data), 3):
        reader.feed(data[i:i + 3])
        while (frame := reader.next()) is not None:
            frames.append(frame)
    assert frames == [b"hello", b"", b"world!"]


def test_a_frame_written_in_parts_arrives_whole_through_a_full_pipe():
    # more parts than one writev takes, more bytes than a pipe holds, empty parts among them, a
    # slow reader, and signals that cut the writes short: every byte arrives, in order, once
    parts = [bytes([i % 251]) * (i % 7) * 100 for i in range(3 * IOV_MAX)]
    payload = b"".join(parts)
    assert len(parts) > IOV_MAX and len(payload) > 2**16
    read_fd, write_end = os.pipe()
    reader, frames = FrameReader(max_size=len(payload)), []

    def read_slowly():
        while chunk := os.read(read_fd, 4096):
            reader.feed(chunk)
            frames.extend(iter(reader.next, None))
            time.sleep(0.0002)

    thread = threading.Thread(target=read_slowly)
    thread.start()
    interrupted = []
    old = signal.signal(signal.SIGALRM, lambda *_: interrupted.append(1))
    signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)  # a blocked write returns what it wrote so far
    try:
        write_fd(write_end, parts)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        os.close(write_end)
    thread.join()
    os.close(read_fd)
    assert interrupted and frames == [payload] and reader.pending() == 0


def test_an_oversized_frame_is_refused_before_it_is_read():
    reader = FrameReader(max_size=10)
    reader.feed(HEADER.pack(11))
    with pytest.raises(OverflowError):
        reader.next()


def test_envelopes_round_trip_and_reject_stray_bytes():
    data = pack_envelope({"status": "ok"}, [b"a", b"", b"bc"])
    assert unpack_envelope(data) == ({"status": "ok"}, [b"a", b"", b"bc"])
    with pytest.raises(ValueError):
        unpack_envelope(data + b"x")


def test_a_server_that_stops_at_start_says_why(tmp_path, plan):
    """What the server last wrote to its error output (the exception that stopped it) reaches the
    ``grader grade`` process's one line, not just a broken pipe."""
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\necho 'Traceback (most recent call last):' >&2\n"
                      "echo 'OSError: [Errno 5] the reason the server stopped' >&2\nexit 1\n")
    python.chmod(0o755)
    box = Sandbox(python=str(python))
    try:
        box.process.wait(timeout=10)
        with pytest.raises(SandboxDied, match=r"stopped unexpectedly \(.*OSError: \[Errno 5\] the reason the server"):
            box.configure([plan.requests["relu"]])
    finally:
        box.close()


def hanging_child(box: Sandbox, tmp_path, plan) -> int:
    """The pid of ``box``'s child grading a ``relu`` that sleeps for a minute."""
    hang = "def relu(z):\n    import time\n    time.sleep(60)\n"
    path = samples.write_py(tmp_path / "student", "a1_neuron", {"relu": hang})
    box.configure([{**plan.requests["relu"], "timeout": 60.0}])
    box.submit(str(path))
    deadline = time.monotonic() + 20
    while not server_descendants(box.process.pid):
        assert time.monotonic() < deadline, "the child never started"
        time.sleep(0.05)
    [pid] = server_descendants(box.process.pid)
    return pid


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_child_does_not_outlive_its_stopped_server(tmp_path, plan, how):
    scratch = Scratch()  # for the folder a server killed outright leaves
    box = Sandbox(scratch=scratch.path)
    child = Path(f"/proc/{hanging_child(box, tmp_path, plan)}")
    os.kill(box.process.pid, how)
    box.process.wait(timeout=10)
    deadline = time.monotonic() + 5
    while child.exists() and (child / "stat").read_text().split()[2] != "Z":
        assert time.monotonic() < deadline, f"the child outlived its server ({how.name})"
        time.sleep(0.05)
    box.close()
    scratch.close()


def test_a_server_and_its_child_are_named_in_top(tmp_path, plan):
    """An instructor watching ``top`` during a run sees what each process is, not a dozen ``python``."""
    box = Sandbox()
    try:
        pid = hanging_child(box, tmp_path, plan)
        assert Path(f"/proc/{box.process.pid}/comm").read_text() == "grader-sandbox\n"
        assert Path(f"/proc/{pid}/comm").read_text() == "grader-student\n"
    finally:
        box.close()


def test_a_probe_child_runs_no_submission_code_and_is_confined_like_the_others(sandbox, tmp_path):
    """What ``grader.sandbox.faults`` asks before calling an import failure the grader's fault."""
    from grader.authoring import solutions
    from grader.sandbox.jail import landlock_abi

    got = sandbox.probe(modules=["course.plots", "csv", "course.fixtures", "no_such_module_here"],
                        files=[str(solutions.notebook_path("a1_neuron")), os.path.realpath(__file__)])
    assert got["course.plots"] == got["csv"] == ""
    assert "can't be imported while grading" in got["course.fixtures"]
    assert got["no_such_module_here"].startswith("ModuleNotFoundError")
    if landlock_abi():  # hidden: the solutions and the tests
        assert all(got[path] for path in (str(solutions.notebook_path("a1_neuron")), os.path.realpath(__file__))), got
    # the server goes on grading afterwards
    sub = samples.write_py(tmp_path / "after_probe", "a1_neuron")
    reply = decode_reply(sandbox.grade(str(sub)))
    assert reply["status"] == "ok" and all(f["status"] == "ok" for f in reply["functions"])
