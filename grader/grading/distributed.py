"""``grader grade --scheduler ADDRESS``: the same grading, with Dask workers grading and judging.

The plan (the Keras answers with the case inputs) is scattered to every worker once, as
``course.codec`` bytes. Each Dask task (``grade_chunk``) grades a few submissions with a
``grader.grading.worker.Worker`` of its worker thread (its own fork servers, kept for the run)
and judges them there. A worker that sees the run's output folder (``seen_folder``: the same
file system, a local cluster or a shared disk) writes each student's files itself, as a local
worker does, and returns the results only; any other returns the finished files as plain data
(``judging.Finished``) for this process to write. Either way this process does no more than
bookkeeping for a student: whatever it did for each would cap the whole cluster. Submissions
travel inside their tasks as file bytes, so workers need no shared file system, only this
package installed (``pip install digits-course[worker]``: NumPy and matplotlib, no TensorFlow
for A1-A3). A worker process is as trusted as this one (it holds the answers); submission code
runs only in its sandboxed children.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Callable

from course import codec
from grader.grading.judging import Finished
from grader.grading.submissions import Submission

MAX_CHUNK = 32
"""submissions per task at the most (``chunk_size``)"""
TASKS_PER_THREAD = 3
"""tasks in flight per worker thread, so no worker waits for the next one"""
TASKS_PER_THREAD_IN_ALL = 8
"""tasks per worker thread over a whole run, for a big enough class (``chunk_size``)"""
MAX_TASK_BYTES = 64 * 2**20
"""a task takes no further submission once its files reach this (it always takes one)"""
MAX_FOLDER_BYTES = 64 * 2**20
"""a submission folder's files beyond this are not sent (the submission file always is)"""
SHARED_PREFIX = ".grader-dask-"
"""the output folder's private folder for a run (``share_folder``)"""


def chunk_size(students: int, threads: int) -> int:
    """Submissions per task: as many as give each worker thread about ``TASKS_PER_THREAD_IN_ALL``
    tasks, so that a small class still reaches every thread and a run ends evenly, but at most
    ``MAX_CHUNK``. Each task costs the ``grader grade`` process about a millisecond of its own,
    which, paid for every eight submissions, capped a cluster at about 1,000 submissions/s."""
    return max(1, min(MAX_CHUNK, students // (threads * TASKS_PER_THREAD_IN_ALL)))


def take(waiting: deque, size: int, packed: Callable[[Submission], dict]) -> list[dict]:
    """The next task's submissions, ``packed``, from the front of ``waiting``: ``size`` of them, or
    fewer once their files reach ``MAX_TASK_BYTES`` (A4's model files), but always one."""
    items, nbytes = [], 0
    while waiting and len(items) < size and nbytes < MAX_TASK_BYTES:
        items.append(packed(waiting.popleft()))
        nbytes += sum(len(data) for data in items[-1]["files"].values())
    return items


def pack(sub: Submission, fingerprint: str) -> dict:
    """One submission as plain data: its folder's files as ``{relative path: bytes}``."""
    if sub.path is None:
        return {"student": sub.student, "name": None, "files": {}, "problem": sub.problem, "fault": sub.fault,
                "fingerprint": fingerprint}
    files = {sub.path.name: sub.path.read_bytes()}
    size = len(files[sub.path.name])
    for path in sorted(sub.folder.rglob("*")):
        rel = path.relative_to(sub.folder).as_posix()
        if rel in files or path.is_symlink() or not path.is_file():
            continue
        try:
            size += path.stat().st_size
            if size > MAX_FOLDER_BYTES:
                break
            files[rel] = path.read_bytes()
        except OSError:  # unreadable here: not sent, as a local run's sandbox could not read it either
            continue
    return {"student": sub.student, "name": sub.path.name, "files": files, "problem": sub.problem, "fault": sub.fault,
            "fingerprint": fingerprint}


def share_folder(out: Path) -> dict:
    """A private folder (0700) in ``out`` for this run, holding a random token by which a Dask
    worker tells whether it sees ``out`` (``seen_folder``), and the pictures such workers share
    (``grader.pictures.share``). Removed when the run ends, which also stops workers writing
    into ``out``; a run killed before that leaves it, and the next run in ``out`` removes it."""
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob(f"{SHARED_PREFIX}*"):
        shutil.rmtree(old, ignore_errors=True)
    folder = tempfile.mkdtemp(dir=out, prefix=SHARED_PREFIX)
    token = secrets.token_hex(16)
    with open(os.path.join(folder, "token"), "x") as f:
        f.write(token)
    return {"out": str(out), "path": folder, "token": token}


_seen: dict[tuple[str, str], bool] = {}
"""(run's folder, token) -> whether this process read the token there (``seen_folder``)"""


def seen_folder(folder: dict | None) -> Path | None:
    """The run's output folder if this process sees the very folder the ``grader grade`` process
    writes (the run's folder is there, with its token: ``share_folder``), else None. Asked
    once per process and run; a worker on another machine, or as another user, sees no token."""
    if not folder:
        return None
    key = (folder["path"], folder["token"])
    if key not in _seen:
        try:
            with open(os.path.join(folder["path"], "token")) as f:
                _seen[key] = f.read(len(folder["token"]) + 1) == folder["token"]
        except (OSError, ValueError):
            _seen[key] = False
    return Path(folder["out"]) if _seen[key] else None


def grade_chunk(plan_data: bytes, items: list[dict], feedback_options: dict, out_folder: dict | None = None) -> dict:
    """Runs on a Dask worker: grade and judge each packed submission. Where this worker sees the
    run's output folder (``out_folder``: ``seen_folder``) it writes each student's files there.

    Returns ``{"finished": [Finished.to_plain()], "usage": CPU seconds by kind, for this task}``.
    """
    from grader import pictures

    worker = _worker(plan_data)
    worker.feedback_options = dict(feedback_options)
    out = seen_folder(out_folder)
    # the workers that see the run's folder draw each picture once between them, not once each
    pictures.share(out_folder["path"] if out is not None else None)
    before = dict(worker.usage)
    start = time.thread_time()
    with tempfile.TemporaryDirectory(prefix="grader-dask-", dir=_scratch_folder()) as tmp:
        subs = []
        for i, item in enumerate(items):
            folder = Path(tmp, str(i))
            folder.mkdir()
            for rel, data in item["files"].items():
                target = (folder / rel).resolve()
                if folder.resolve() not in target.parents:
                    continue  # never write outside the submission's folder
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            path = None if item["name"] is None else folder / item["name"]
            subs.append((Submission(item["student"], folder, path, item["problem"], item["fault"]),
                         item["fingerprint"]))
        finished = worker.grade(subs)
    for done in finished:
        # not once the run has stopped (its folder gone): a later run may be grading this student
        if out is not None and os.path.exists(out_folder["path"]):
            done.write_if_possible(out)
    usage = {kind: worker.usage[kind] - before[kind] for kind in ("submissions", "fork servers")}
    usage["Dask workers"] = time.thread_time() - start
    return {"finished": [f.to_plain() for f in finished], "usage": usage}


def prepare(plan_data: bytes, feedback_options: dict) -> dict:
    """Runs on a Dask worker thread before grading: its ``Worker`` (fork servers configured with
    the plan) and, when pictures are on, matplotlib ready (``grader.pictures.warm``).

    Returns ``{"fork servers": CPU seconds}`` of this process's fork servers' zygote (``_servers``)
    from the first call that finds it; else ``{}``.
    """
    _worker(plan_data)
    if feedback_options.get("pictures", True):
        from grader import pictures

        pictures.warm()
    with _lock:
        if _zygote and not _zygote[0][1]:
            _zygote[0][1] = True
            return {"fork servers": _zygote[0][0].cpu()}
    return {}


_local = threading.local()
_all: list = []
_zygote: list = []
"""[[the fork servers' zygote of this worker process, whether its CPU was reported]], once made"""
_scratch: list = []
"""[the scratch folder of this worker process's fork servers (``grader.sandbox.scratch``)], once made"""
_lock = threading.Lock()


def _servers() -> int | None:
    """The control socket of this process's fork servers' zygote (``client.server_zygote``),
    started on first need and shared by its worker threads: each thread's NumPy fork server is
    then forked, not started afresh (about 0.2 s of CPU less each, for about 0.2 s once). Only
    for a Dask worker of several threads (for one, the zygote would cost what it saves), and
    as root, as for a local run (``grading.pool.grade_local`` says why)."""
    try:
        from distributed import get_worker

        threads = get_worker().state.nthreads
    except (ImportError, ValueError, AttributeError):  # not in a Dask worker (or an older one)
        threads = 1
    if threads < 2 or os.geteuid() != 0:
        return None
    from grader.sandbox.client import server_zygote

    with _lock:
        if not _zygote:
            _zygote.append([server_zygote(), False])
        return _zygote[0][0].fd


def _scratch_folder() -> str:
    """This worker process's scratch folder, made on first need and kept until it exits: what a
    fork server killed outright leaves is removed then, or by the next process of this machine
    that makes one, if this one is killed too."""
    from grader.sandbox.scratch import Scratch

    with _lock:
        if not _scratch:
            _scratch.append(Scratch())
        return _scratch[0].path


def _worker(plan_data: bytes):
    """This worker thread's ``Worker`` for the plan in ``plan_data`` (scattered once per run, so
    the same object each task: a new run's plan starts new fork servers)."""
    from grader.grading.plan import Plan
    from grader.grading.worker import Worker, kinds

    if getattr(_local, "data", None) is plan_data:
        return _local.worker
    digest = hashlib.sha256(plan_data).hexdigest()  # the same plan, copied (e.g. spilled to disk and back)?
    if getattr(_local, "digest", None) != digest:
        old = getattr(_local, "worker", None)
        if old is not None:
            old.close()
            _all.remove(old)
        _local.worker = None
        plan = Plan.from_plain(codec.decode(plan_data))
        _local.worker = Worker(kinds(plan.assignment), plan=plan, servers=_servers(), scratch=_scratch_folder())
        _local.digest = digest
        _all.append(_local.worker)
    _local.data = plan_data  # held, so its identity is never reused while this worker is kept
    return _local.worker


@atexit.register
def close_all() -> None:
    """Stop this process's ``Worker``s (their fork servers) and its fork servers' zygote, and
    remove its scratch folder: at exit, or in a process that ran ``grade_chunk`` in one thread of
    its own (a test), which then starts them afresh for its next task. Not while other threads
    are grading."""
    with _lock:
        for worker in _all:
            worker.close()
        for zygote, _ in _zygote:
            zygote.close()
        for scratch in _scratch:
            scratch.close()
        _all.clear()
        _zygote.clear()
        _scratch.clear()
        _local.__dict__.clear()  # the calling thread's


def grade_all(address: str, todo: list[Submission], planner, fingerprints: dict[str, str],
              finish: Callable[[Finished], None], started: Callable[[], None], *, usage: dict,
              feedback_options: dict, out: Path | None = None,
              wrap_up: Callable[[Callable[[list[float], float], str | None]], None] | None = None):
    """Grade ``todo`` on the Dask cluster at ``address``; ``finish`` gets each student's files.
    With ``out``, the workers that see that folder write the files there themselves
    (``Finished.written``, as in ``grading.pool.grade_local``). ``wrap_up``, once every
    submission is finished, gets a function that has a Dask worker draw the class report's
    histogram (its matplotlib is warm: this process never imports it).

    The connection is made while ``planner`` computes the Keras answers; how long to try is
    Dask's ``distributed.comm.timeouts.connect`` setting. Adds to ``usage`` the CPU seconds the
    cluster spent, by kind of process. Returns the plan.

    Raises:
        ConnectionError: the scheduler can't be reached.
    """
    from dask.distributed import Client, as_completed

    try:
        client = Client(address)
    except (OSError, TimeoutError) as e:
        raise ConnectionError(f"could not reach the Dask scheduler at {address}: {e}") from None
    except ValueError as e:  # not an address at all (Dask's own words say what is missing)
        raise ConnectionError(f"{address!r} is not a Dask scheduler address, such as tcp://HOST:8786: {e}") from None
    folder = share_folder(out) if out is not None else None
    try:
        with client:
            plan = planner.result()
            [shared] = client.scatter([codec.encode(plan.to_plain())], broadcast=True, hash=False)
            # every worker thread's fork servers (and matplotlib) start now, before the clock, as the
            # local pool's do: at the first task of a big cluster they took a fifth of the run
            for zygote_cpu in client.gather([client.submit(prepare, shared, feedback_options, workers=[address],
                                                           allow_other_workers=True, pure=False)
                                             for address, n in client.nthreads().items() for _ in range(n)]):
                for kind, seconds in zygote_cpu.items():
                    usage[kind] = usage.get(kind, 0.0) + seconds
            started()
            threads = max(1, sum(client.nthreads().values()))
            size = chunk_size(len(todo), threads)
            waiting = deque(todo)

            def submit():
                items = take(waiting, size, lambda sub: pack(sub, fingerprints[sub.student]))
                return client.submit(grade_chunk, shared, items, feedback_options, folder, pure=False)

            first = []
            while waiting and len(first) < threads * TASKS_PER_THREAD:
                first.append(submit())
            running = as_completed(first)
            for future in running:
                if waiting:
                    running.add(submit())
                done = future.result()
                for kind, seconds in done["usage"].items():
                    usage[kind] = usage.get(kind, 0.0) + seconds
                for plain in done["finished"]:
                    finish(Finished.from_plain(plain))
                future.release()
            if wrap_up is not None:
                wrap_up(lambda scores, max_score: _histogram(client, scores, max_score))
            return plan
    finally:
        if folder is not None:  # the run is over: no worker writes into ``out`` any more
            shutil.rmtree(folder["path"], ignore_errors=True)


def _histogram(client, scores: list[float], max_score: float) -> str | None:
    from grader.reports.class_report import histogram_or_none

    try:
        return client.submit(histogram_or_none, scores, max_score, pure=False).result()
    except Exception:  # a lost worker, say: the report draws it itself
        return None
