"""The local worker pool: workers and fork servers forked by zygotes, and a run that loses any of
these processes still grades everyone."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from grader.authoring import samples

from .conftest import children, cmdline, grade_rows, ready_plan, scores

STUDENTS = 400


LOSSES = {
    "a worker": ("worker",),
    "the workers' zygote, then a worker": ("workers' zygote", "worker"),
    "the servers' zygote, then a worker": ("servers' zygote", "worker"),  # its servers then start afresh
    "a fork server": ("fork server",),  # its worker forks another
}
TOP_NAMES = {"worker": "grader-worker", "workers' zygote": "worker-zygote", "servers' zygote": "sandbox-zygote",
             "fork server": "grader-sandbox"}
"""what ``top`` calls each process of a run"""


@pytest.mark.parametrize("lost", LOSSES.values(), ids=LOSSES.keys())
def test_a_run_that_loses_a_process_still_grades_everyone(tmp_path, a1_plan, lost):
    if lost != ("worker",) and os.geteuid() != 0:
        pytest.skip("as an ordinary user, workers and fork servers are started afresh, without zygotes")
    expected = samples.synthetic_class("a1_neuron", tmp_path / "class", STUDENTS)
    out = tmp_path / "out"
    scratch = tmp_path / "tmp"  # the run's own TMPDIR, to see what its processes leave there
    scratch.mkdir()
    run = subprocess.Popen([sys.executable, "-m", "grader.cli", "grade", "a1_neuron", str(tmp_path / "class"),
                            "--out", str(out), "--plan", str(a1_plan), "--workers", "2", "--no-pictures"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env={**os.environ, "TMPDIR": str(scratch)})
    deadline = time.monotonic() + 120
    while len(list((out / "results").glob("*.json"))) < 10:  # grading is under way
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.02)
    pool = [p for p in children(run.pid) if "grader.grading.pool" in cmdline(p)]
    zygotes = [p for p in pool if "--zygote" in cmdline(p)]
    server_zygotes = [p for p in children(run.pid) if "grader.sandbox.server" in cmdline(p) and "--zygote" in cmdline(p)]
    assert len(zygotes) == len(server_zygotes) == (os.geteuid() == 0)  # root's runs fork from them
    workers = children(zygotes[0]) if zygotes else pool
    assert len(workers) == 2
    processes = {"worker": workers[0]}
    if zygotes:
        processes.update({"workers' zygote": zygotes[0], "servers' zygote": server_zygotes[0],
                          "fork server": children(server_zygotes[0])[0]})
        assert len(children(server_zygotes[0])) == 2  # one per worker
    named = {n: Path(f"/proc/{pid}/comm").read_text().strip() for n, pid in processes.items()}
    assert named == {n: TOP_NAMES[n] for n in named}
    for name in lost:
        os.kill(processes[name], signal.SIGKILL)
    assert run.poll() is None, "the run ended before a worker could be lost: make the class bigger"
    stdout, stderr = run.communicate(timeout=300)
    assert run.returncode == 0, stderr
    assert "GRADER FAULT" not in stderr
    rows = grade_rows(out)
    assert set(rows) == set(expected)
    wrong = [s for s, scores in expected.items()
             if any(float(rows[s][name]) != score for name, score in scores.items())]
    assert not wrong, wrong[:5]
    assert os.listdir(scratch) == []  # nor the folders of the process killed outright


def test_workers_write_the_files_and_send_back_the_results_only(tmp_path, a1_plan):
    """Every file is written by a worker: the ``grader grade`` process gets the results and the
    row, not the pages (whose writing, done there, would be a ceiling on any number of cores)."""
    from grader.grading import pool
    from grader.grading.submissions import discover

    samples.synthetic_class("a1_neuron", tmp_path / "class", 12)
    subs = discover(tmp_path / "class", "a1_neuron")
    runs = {}
    for name, out in (("written by the workers", tmp_path / "out"), ("sent back", None)):
        got = []
        pool.grade_local(subs, ready_plan(a1_plan), [()], workers=2, fingerprints={s.student: "f" for s in subs},
                         finish=got.append, started=lambda: None, usage={}, feedback_options={"pictures": False},
                         out=out)
        runs[name] = {done.student: done for done in got}
    written, sent = runs["written by the workers"], runs["sent back"]
    assert set(written) == set(sent) == {s.student for s in subs}
    for student, done in written.items():
        assert done.written and done.feedback == b"" and done.instructor is None
        assert not sent[student].written
        assert (tmp_path / "out" / "results" / f"{student}.json").read_text() == done.results_text
        assert done.row == sent[student].row
        for folder, page in (("feedback", sent[student].feedback), ("instructor", sent[student].instructor)):
            assert (tmp_path / "out" / folder / f"{student}.html").read_bytes() == page
    assert not list((tmp_path / "out").glob("*/.*.tmp"))


def test_a_worker_stops_with_its_run(tmp_path, a1_plan):
    """Once the ``grader grade`` process has stopped (or been killed), a worker drops what it
    still had queued: it grades nothing more and writes no file after the run ended."""
    from course import codec
    from grader.grading.pool import WorkerProcess
    from grader.grading.submissions import discover

    samples.synthetic_class("a1_neuron", tmp_path / "class", 8, loops=8)  # each hangs for the timeout
    subs = discover(tmp_path / "class", "a1_neuron")
    out = tmp_path / "out"
    worker = WorkerProcess(0, [()])
    try:
        worker.configure(codec.encode(ready_plan(a1_plan).result().to_plain()), {"pictures": False},
                         str(tmp_path), out)
        worker.ready()
        worker.send([(sub, "f", 0) for sub in subs])
        time.sleep(0.5)  # the first submission is being graded
        start = time.monotonic()
        worker.stdin.close()
        worker.process.wait(timeout=60)
        stopped = time.monotonic() - start
    finally:
        worker.close()
    assert stopped < 4, f"the worker went on for {stopped:.1f} s after its run stopped"
    assert len(list((out / "results").glob("*.json"))) <= 1  # at most the one under way


def test_a_worker_draws_the_class_histogram(tmp_path, a1_plan):
    """The ``grader grade`` process never imports matplotlib (a fifth of a small class's run):
    a worker, whose matplotlib is warm, draws the class report's histogram, the very one the
    report would have drawn itself."""
    from course import exercises
    from grader.grading.results import read_json
    from grader.reports import class_report

    expected = samples.synthetic_class("a1_neuron", tmp_path / "class", 12)
    code = ("import sys; from grader.grading import grade; "
            "grade.grade('a1_neuron', sys.argv[1], sys.argv[2], plan=sys.argv[3], workers=2, progress=False); "
            "print('matplotlib' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path / "class"), str(tmp_path / "out"), str(a1_plan)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False"]
    saved = [read_json(tmp_path / "out" / "results" / f"{student}.json") for student in sorted(expected)]
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "<figure id='histogram'><img src='data:image/png;base64," in page
    assert page == class_report.render(saved, exercises.assignment("a1_neuron"))


def test_a_file_that_cannot_be_written_stops_the_run_with_its_reason(tmp_path, a1_plan):
    """A worker that cannot write a student's file (a full disk, say; here a folder in its way)
    sends it back whole, and ``grader grade`` stops on it with one readable line, as it would
    had it written the file itself: the failure is neither hidden nor taken for a lost worker
    (whose submissions are graded again, then failed as a grader fault)."""
    from grader.grading import pool
    from grader.grading.submissions import discover

    samples.synthetic_class("a1_neuron", tmp_path / "class", 6)
    subs = discover(tmp_path / "class", "a1_neuron")
    first = subs[0].student
    for out in (tmp_path / "direct", tmp_path / "cli"):
        (out / "feedback" / f"{first}.html").mkdir(parents=True)
    got = []
    pool.grade_local(subs, ready_plan(a1_plan), [()], workers=2, fingerprints={s.student: "f" for s in subs},
                     finish=got.append, started=lambda: None, usage={}, feedback_options={"pictures": False},
                     out=tmp_path / "direct")
    done = {d.student: d for d in got}
    assert len(got) == len(subs) and set(done) == {s.student for s in subs}
    assert "worker process failed" not in done[first].results_text
    assert not done[first].written and b"id='score'" in done[first].feedback  # sent back whole, to be written
    assert all(d.written for student, d in done.items() if student != first)
    run = subprocess.run([sys.executable, "-m", "grader.cli", "grade", "a1_neuron", str(tmp_path / "class"),
                          "--out", str(tmp_path / "cli"), "--plan", str(a1_plan), "--workers", "2"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert run.stderr.strip().splitlines()[-1].startswith("grader: [Errno 21] Is a directory")
    assert not (tmp_path / "cli" / "results" / f"{first}.json").exists()


@pytest.mark.parametrize("where", ["TMPDIR missing", "TMPDIR private", "run from a removed folder"])
def test_where_a_run_starts_changes_no_score(tmp_path, a1_plan, where):
    """``TMPDIR`` naming a folder that does not exist is passed over, as Python's ``tempfile``
    passes it over; one in a folder only its owner may enter (0700) holds the run's scratch folder,
    which the sandbox user reaches all the same; a current folder removed before the run (the
    jail reads no current folder then). Each time, every score as expected and nothing left."""
    expected = samples.synthetic_class("a1_neuron", tmp_path / "class", 12)
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    env, cwd = dict(os.environ), tmp_path / "removed"
    cwd.mkdir()
    if where != "run from a removed folder":
        env["TMPDIR"] = str(tmp_path / "no such folder" if where == "TMPDIR missing" else private)
    run = subprocess.Popen([sys.executable, "-m", "grader.cli", "grade", "a1_neuron", str(tmp_path / "class"),
                            "--out", str(tmp_path / "out"), "--plan", str(a1_plan), "--workers", "2"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    if where == "run from a removed folder":
        cwd.rmdir()  # at once: before its fork servers set up their jails
    stdout, stderr = run.communicate(timeout=300)
    assert run.returncode == 0, stderr
    assert scores(tmp_path / "out", expected) == expected
    assert os.listdir(private) == []


def test_a_run_whose_second_worker_cannot_start_leaves_no_process_or_folder(tmp_path, a1_plan, monkeypatch):
    """What started before the failure (the scratch folder, the zygotes, the first worker) is let go of."""
    from grader.grading import pool
    from grader.grading.submissions import discover

    samples.synthetic_class("a1_neuron", tmp_path / "class", 4)
    subs = discover(tmp_path / "class", "a1_neuron")
    started: list = []

    class FirstOnly(pool.WorkerProcess):
        def __init__(self, index, *args):
            if index == 1:
                raise RuntimeError("a worker process could not start: no more processes")
            super().__init__(index, *args)
            started.append(self.process.pid)

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR is read afresh
    monkeypatch.setattr(pool, "WorkerProcess", FirstOnly)
    before = set(children(os.getpid()))
    with pytest.raises(RuntimeError, match="could not start"):
        pool.grade_local(subs, ready_plan(a1_plan), [()], workers=2, fingerprints={s.student: "f" for s in subs},
                         finish=lambda done: None, started=lambda: None, usage={}, feedback_options={"pictures": False})
    assert len(started) == 1
    assert set(children(os.getpid())) - before == set()  # the worker and the zygotes, ended and reaped
    assert os.listdir(scratch) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=["TERM", "HUP", "INT"])
def test_a_run_stopped_by_a_signal_cleans_up_and_resumes(tmp_path, a1_plan, signum):
    """A batch system's time limit (SIGTERM) or a closed terminal (SIGHUP) stops a run as Ctrl-C
    does: one line, its processes ended, its temporary folder removed; the next run finishes."""
    expected = samples.synthetic_class("a1_neuron", tmp_path / "class", STUDENTS)
    out, scratch = tmp_path / "out", tmp_path / "tmp"
    scratch.mkdir()
    command = [sys.executable, "-m", "grader.cli", "grade", "a1_neuron", str(tmp_path / "class"), "--out", str(out),
               "--plan", str(a1_plan), "--workers", "2", "--no-pictures"]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env={**os.environ, "TMPDIR": str(scratch)})
    deadline = time.monotonic() + 120
    while len(list((out / "results").glob("*.json"))) < 10:  # grading is under way
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.02)
    run.send_signal(signum)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 128 + signum, stderr
    assert stderr.strip().splitlines()[-1].endswith("run the same command again to resume")
    assert os.listdir(scratch) == []  # removed by the run, not by a later one's sweep
    again = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "TMPDIR": str(scratch)})
    assert again.returncode == 0, again.stderr
    assert set(grade_rows(out)) == set(expected)


def test_a_run_under_nohup_is_not_stopped_by_a_hangup(tmp_path, a1_plan):
    """``nohup grader grade …``: SIGHUP ignored when the run starts stays ignored."""
    expected = samples.synthetic_class("a1_neuron", tmp_path / "class", 60)
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-m", "grader.cli", "grade", "a1_neuron", str(tmp_path / "class"),
                            "--out", str(out), "--plan", str(a1_plan), "--workers", "2", "--no-pictures"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    deadline = time.monotonic() + 120
    while not (out / "results").is_dir():  # started
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.02)
    run.send_signal(signal.SIGHUP)
    _, stderr = run.communicate(timeout=300)
    assert run.returncode == 0, stderr
    assert set(grade_rows(out)) == set(expected)
