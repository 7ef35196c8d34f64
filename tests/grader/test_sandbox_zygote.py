"""Fork servers forked by a zygote (``client.server_zygote``) grade as servers started afresh do,
and keep no way back to the zygote: whoever held its control socket could ask it, running as the
grader's user, for a server with any arguments (``--uid`` left out: children that stay root)."""
import os
import signal
import subprocess
from pathlib import Path

import pytest

import grader
from grader.authoring import samples
from grader.grading.grade import judge_reply
from grader.grading.plan import public_plan
from grader.grading.submissions import Submission
from grader.sandbox.client import PROTECTIONS, Sandbox, decode_reply, server_zygote
from grader.sandbox.zygote import Forked

MISTAKES = [None, *({m.function: m.source} for name, m in samples.MISTAKES["a1_neuron"].items()
                    if name != "infinite_loop")]


@pytest.fixture(scope="module")
def plan():
    return public_plan("a1_neuron", timeout=1.0)


@pytest.fixture
def zygote():
    z = server_zygote()
    yield z
    z.close()


def sockets(pid: int) -> list[str]:
    links = (os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd"))
    return [link for link in links if link.startswith("socket:")]


def scores(box: Sandbox, plan, tmp_path, mistake) -> dict:
    folder = tmp_path / f"student-{len(list(tmp_path.iterdir()))}"
    path = samples.write_py(folder, "a1_neuron", mistake)
    reply = decode_reply(box.grade(str(path)))
    return judge_reply(Submission("student", folder, path), plan, reply, fingerprint="x").scores()


def test_a_forked_server_grades_as_a_server_started_afresh(tmp_path, plan, zygote):
    with Sandbox(zygote=zygote.fd) as forked, Sandbox() as fresh:
        assert isinstance(forked.process, Forked) and isinstance(fresh.process, subprocess.Popen)
        for box in (forked, fresh):
            box.configure(plan.functions, load_timeout=plan.load_timeout)
        for mistake in MISTAKES:
            assert scores(forked, plan, tmp_path, mistake) == scores(fresh, plan, tmp_path, mistake), mistake
        assert sockets(zygote.process.pid)  # what the forked server must not have
        assert not sockets(forked.process.pid)


def test_a_submission_finds_no_socket_in_a_forked_servers_child(tmp_path, zygote):
    source = tmp_path / "fds.py"
    source.write_text("import os, stat\n"
                      "def fds(_):\n"
                      "    kinds = []\n"
                      "    for fd in range(4096):\n"
                      "        try:\n"
                      "            kinds.append('socket' if stat.S_ISSOCK(os.fstat(fd).st_mode) else 'other')\n"
                      "        except OSError:\n"
                      "            pass\n"
                      "    return kinds\n")
    with Sandbox(zygote=zygote.fd) as box:
        reply = box.run({"function": "fds", "cases": [{"args": [0], "kwargs": {}}], "timeout": 5,
                         "submission": str(source)})
    assert reply["status"] == "ok", reply
    kinds = reply["result"]["outcomes"][0]["value"]
    assert kinds and "socket" not in kinds, reply


def test_a_server_is_started_afresh_once_its_zygote_has_stopped(tmp_path, plan, zygote):
    os.kill(zygote.process.pid, signal.SIGKILL)
    zygote.process.wait()
    with Sandbox(zygote=zygote.fd) as box, Sandbox() as fresh:
        assert isinstance(box.process, subprocess.Popen)
        for each in (box, fresh):
            each.configure(plan.functions, load_timeout=plan.load_timeout)
        assert scores(box, plan, tmp_path, None) == scores(fresh, plan, tmp_path, None)


def test_a_forked_servers_child_reads_what_a_fresh_servers_child_reads(tmp_path, zygote):
    """The fork servers' zygote walks their Landlock allow-list ahead (``jail.walk_ahead``): what
    it lets a child read must be exactly what a server that walked it itself lets it read."""
    import numpy

    import course

    root = Path(list(grader.__path__)[0]).resolve().parent
    paths = [str(root / "grader" / "grading" / "grade.py"), str(root / "solutions"), str(Path(course.__file__).parent /
             "exercises"), numpy.__file__, course.__file__, "/etc/hostname"]
    source = tmp_path / "peek.py"
    source.write_text("import os\n"
                      "def peek(paths):\n"
                      "    seen = []\n"
                      "    for p in paths:\n"
                      "        try:\n"
                      "            os.listdir(p) if os.path.isdir(p) else open(p, 'rb').close()\n"
                      "            seen.append('read')\n"
                      "        except OSError as e:\n"
                      "            seen.append(type(e).__name__)\n"
                      "    return seen\n")
    request = {"function": "peek", "cases": [{"args": [paths], "kwargs": {}}], "timeout": 5, "submission": str(source)}
    with Sandbox(zygote=zygote.fd) as forked, Sandbox() as fresh:
        seen = [box.run(request)["result"]["outcomes"][0]["value"] for box in (forked, fresh)]
    assert seen[0] == seen[1], dict(zip(paths, zip(*seen)))
    assert seen[0][3:5] == ["read", "read"], dict(zip(paths, seen[0]))  # NumPy and the course's loader
    if "landlock" in " ".join(PROTECTIONS.get("active", [])):
        assert "read" not in seen[0][:3], dict(zip(paths, seen[0]))  # the grader, solutions, answers
