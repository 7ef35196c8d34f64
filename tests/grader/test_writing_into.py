"""One grader command at a time writes into an output folder (``results.writing_into``)."""
import os
import signal
import subprocess
import sys
import time

import pytest

from grader.authoring import samples
from grader.grading.results import LOCK, OutputBusy, writing_into

from .conftest import grade_cli, grade_rows

HOLD = """
import sys, time
from pathlib import Path
from grader.grading.results import writing_into
with writing_into(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_command_into_the_same_folder_stops_at_once_and_names_the_first(tmp_path, a1_plan):
    samples.synthetic_class("a1_neuron", tmp_path / "class", 2)
    out = tmp_path / "out"
    with writing_into(out):
        for command in (["grade", "a1_neuron", str(tmp_path / "class"), "--out", str(out), "--plan", str(a1_plan)],
                        ["similarity", "a1_neuron", str(tmp_path / "class"), "--out", str(out)]):
            run = grade_cli(*command)
            assert run.returncode == 2, run.stderr
            assert run.stderr.strip() == (f"grader: another grader command is writing into {out} "
                                          f"(process {os.getpid()}): wait for it to end, or give another --out")
        with pytest.raises(OutputBusy):  # in one process too
            with writing_into(out):
                pass
    assert not (out / LOCK).exists()  # gone with the command that held it
    assert grade_cli("grade", "a1_neuron", str(tmp_path / "class"), "--out", str(out), "--plan",
                     str(a1_plan)).returncode == 0
    assert len(grade_rows(out)) == 2


def test_a_holder_killed_outright_holds_nothing(tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    with pytest.raises(OutputBusy, match=f"process {holder.pid}"):
        with writing_into(out):
            pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert (out / LOCK).exists()  # left behind, but no longer locked
    started = time.monotonic()
    with writing_into(out):
        assert (out / LOCK).read_text() == str(os.getpid())
    assert time.monotonic() - started < 5 and not (out / LOCK).exists()
