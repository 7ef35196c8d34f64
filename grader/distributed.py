"""``grader grade --scheduler ADDRESS``: the same grading, with Dask workers running the sandboxes.

This process keeps what must stay trusted: the Keras answers and all judging. Each Dask task
(``grade_chunk``, our code) grades a few submissions in a fork server on its worker, exactly as a
local run does, and returns the server's raw envelopes: bytes, decoded and judged here with
``course.codec`` (nothing a submission produced is ever unpickled). Submissions travel inside
their tasks as file bytes, so workers need no shared file system, only this package installed.
"""
from __future__ import annotations

import atexit
import hashlib
import tempfile
import threading
from pathlib import Path
from typing import Callable

from course import codec
from grader.plan import PlanProcess
from grader.results import StudentResult
from grader.submissions import Submission

CHUNK = 8
"""submissions per task: enough to amortise a task's overhead, few enough to spread the work"""
TASKS_PER_THREAD = 3
"""tasks in flight per worker thread, so no worker waits for the next one"""
MAX_FOLDER_BYTES = 64 * 2**20
"""a submission folder's files beyond this are not sent (the submission file always is)"""


def pack(sub: Submission) -> tuple[str, str, dict[str, bytes]]:
    """(student, submission file name, {relative path: bytes}) for one submission folder."""
    files = {sub.path.name: sub.path.read_bytes()}
    size = len(files[sub.path.name])
    for path in sorted(sub.folder.rglob("*")):
        rel = path.relative_to(sub.folder).as_posix()
        if rel in files or path.is_symlink() or not path.is_file():
            continue
        size += path.stat().st_size
        if size > MAX_FOLDER_BYTES:
            break
        files[rel] = path.read_bytes()
    return sub.student, sub.path.name, files


def grade_chunk(config: bytes, items: list[tuple[str, str, dict[str, bytes]]]) -> list[tuple[str, list[bytes]]]:
    """Runs on a Dask worker: grade each packed submission; returns (student, one envelope per group)."""
    groups = codec.decode(config)["groups"]
    replies = []
    with tempfile.TemporaryDirectory(prefix="grader-dask-") as tmp:
        for i, (student, name, files) in enumerate(items):
            folder = Path(tmp, str(i))
            for rel, data in files.items():
                target = (folder / rel).resolve()
                if folder.resolve() not in target.parents:
                    continue  # never write outside the submission's folder
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            replies.append((student, [_sandbox(config, tuple(g["needs"])).grade(str(folder / name), group=g["name"])
                                      for g in groups]))
    return replies


_local = threading.local()
_all: list = []


def _sandbox(config: bytes, needs: tuple[str, ...]):
    """This worker thread's fork server of the kind ``needs``, configured for ``config``'s
    groups of that kind (started once per run)."""
    from grader.sandbox.client import Sandbox

    digest = hashlib.sha256(config).hexdigest()
    boxes = _local.__dict__.setdefault("boxes", {})
    if getattr(_local, "digest", None) != digest:  # a new run: the old servers hold the old plan
        for old in boxes.values():
            old.close()
            _all.remove(old)
        boxes.clear()
        _local.digest = digest
    if needs not in boxes:
        settings = codec.decode(config)
        box = Sandbox(preload=needs)
        for g in settings["groups"]:
            if tuple(g["needs"]) == needs:
                box.configure(g["functions"], limits=g["limits"], load_timeout=settings["load_timeout"], group=g["name"])
        boxes[needs] = box
        _all.append(box)
    return boxes[needs]


@atexit.register
def _close_all() -> None:
    for sandbox in _all:
        sandbox.close()


def grade_all(address: str, todo: list[Submission], planner: PlanProcess, fingerprints: dict[str, str],
              finish: Callable[[StudentResult], None], started: Callable[[], None]) -> None:
    """Grade ``todo`` on the Dask cluster at ``address``, judging here as results arrive.

    The connection is made while ``planner`` computes the Keras answers; how long to try is
    Dask's ``distributed.comm.timeouts.connect`` setting.

    Raises:
        ConnectionError: the scheduler can't be reached.
    """
    from dask.distributed import Client, as_completed

    from grader.grade import judge_reply, merge_replies, without_file
    from grader.sandbox.client import decode_reply

    try:
        client = Client(address)
    except (OSError, TimeoutError) as e:
        raise ConnectionError(f"could not reach the Dask scheduler at {address}: {e}") from None
    with client:
        plan = planner.result()
        config = codec.encode({"load_timeout": plan.load_timeout,
                               "groups": [{"name": g.name, "needs": list(g.needs), "functions": g.functions,
                                           "limits": g.limits} for g in plan.groups]})
        [shared] = client.scatter([config], broadcast=True, hash=False)
        by_student = {sub.student: sub for sub in todo}
        started()
        for sub in todo:
            if sub.path is None:
                finish(without_file(sub, plan, fingerprints[sub.student]))
        waiting = [sub for sub in todo if sub.path is not None]
        chunks = [waiting[i:i + CHUNK] for i in range(0, len(waiting), CHUNK)]
        threads = max(1, sum(client.nthreads().values()))

        def submit(chunk):
            return client.submit(grade_chunk, shared, [pack(sub) for sub in chunk], pure=False)

        running = as_completed([submit(chunks.pop(0)) for _ in range(min(len(chunks), threads * TASKS_PER_THREAD))])
        for future in running:
            if chunks:
                running.add(submit(chunks.pop(0)))
            for student, envelopes in future.result():
                reply = merge_replies([decode_reply(envelope) for envelope in envelopes])
                finish(judge_reply(by_student[student], plan, reply, fingerprint=fingerprints[student]))
            future.release()

