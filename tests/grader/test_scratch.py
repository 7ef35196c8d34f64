"""A run's scratch folder: removed at the run's end with what is in it, and after a kill by the
next run, never while its run lives."""
from __future__ import annotations

import errno
import fcntl
import os
import signal
import stat
import subprocess
import sys

import pytest

from grader.sandbox.scratch import LOCK, PREFIX, Scratch, purge

HOLD = """import sys
from grader.sandbox.scratch import Scratch
with Scratch(sys.argv[1]) as scratch:
    print(scratch.path, flush=True)
    sys.stdin.read()
"""
"""a run that makes its scratch folder, says where, and lives until its input ends"""


def hold(parent) -> tuple[subprocess.Popen, str]:
    run = subprocess.Popen([sys.executable, "-c", HOLD, str(parent)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           text=True)
    return run, run.stdout.readline().strip()


def test_a_scratch_folder_can_be_walked_through_not_listed_and_goes_with_what_is_in_it(tmp_path):
    with Scratch(str(tmp_path)) as scratch:
        assert os.path.dirname(scratch.path) == str(tmp_path)
        assert os.path.basename(scratch.path).startswith(PREFIX)
        assert stat.S_IMODE(os.stat(scratch.path).st_mode) == 0o711
        os.makedirs(os.path.join(scratch.path, "grader-sandbox-1", "sub-2"))
    assert os.listdir(tmp_path) == []


def test_the_next_run_removes_a_killed_runs_folder_and_keeps_a_live_ones(tmp_path):
    killed, killed_path = hold(tmp_path)
    live, live_path = hold(tmp_path)
    try:
        os.makedirs(os.path.join(killed_path, "grader-callees-x"))
        killed.send_signal(signal.SIGKILL)  # no clean-up runs
        killed.wait()
        assert os.path.isdir(killed_path)
        with Scratch(str(tmp_path)) as scratch:
            assert not os.path.exists(killed_path)
            assert os.path.isdir(live_path)
            assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in (live_path, scratch.path))
    finally:
        live.communicate("")
    assert live.returncode == 0
    assert os.listdir(tmp_path) == []  # the live run removed its own at its end


def test_purge_leaves_what_is_not_a_dead_run_of_this_user(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / LOCK).touch()
    (tmp_path / f"{PREFIX}link").symlink_to(outside)  # a link: never followed
    (tmp_path / f"{PREFIX}nolock").mkdir()  # no lock file: not a run's
    (tmp_path / f"{PREFIX}file").write_text("")
    kept = sorted(os.listdir(tmp_path))
    assert purge(str(tmp_path)) == []
    assert sorted(os.listdir(tmp_path)) == kept
    assert (outside / LOCK).exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a folder to another user")
def test_purge_leaves_another_users_dead_run(tmp_path):
    theirs = tmp_path / f"{PREFIX}theirs"
    theirs.mkdir()
    (theirs / LOCK).touch()
    os.chown(theirs, 65534, 65534)  # nobody's, and held by nobody
    assert purge(str(tmp_path)) == []
    assert theirs.is_dir()
    os.chown(theirs, 0, 0)
    assert purge(str(tmp_path)) == [str(theirs)]  # the same folder, this user's: removed


def test_without_locks_a_run_keeps_a_name_no_sweep_takes(tmp_path, monkeypatch):
    """On a file system that refuses ``flock`` (some NFS), a run still gets its folder, under the
    hidden staging name that ``purge`` never looks at, so no other run removes it while it runs."""
    def refuse(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    with monkeypatch.context() as m:
        m.setattr(fcntl, "flock", refuse)
        scratch = Scratch(str(tmp_path))
    assert os.path.basename(scratch.path).startswith("." + PREFIX)
    assert stat.S_IMODE(os.stat(scratch.path).st_mode) == 0o711
    assert purge(str(tmp_path)) == [] and os.path.isdir(scratch.path)
    scratch.close()
    assert os.listdir(tmp_path) == []
