"""Grade submissions and judge them: the one loop a local pool process and a Dask task share.

A ``Worker`` owns one fork server per kind the plan's groups need (``Plan.groups``: NumPy only
for A1-A3; A4 adds a Keras-preloading one). It keeps ``IN_FLIGHT`` requests queued at each
server, so a server forks the next child while this process judges the last reply against the
plan's answers and renders the student's files (``judging.finish``). The answers stay in this,
trusted, process: the servers get case inputs only, and their children are confined
(``grader.sandbox.jail``).
"""
from __future__ import annotations

import os
import selectors
import time
from collections import deque

from grader.grading.judging import Finished, finish, judge_reply, merge_replies, without_file
from grader.grading.plan import Group, Plan
from grader.grading.results import StudentResult
from grader.grading.submissions import Submission
from grader.sandbox import faults
from grader.sandbox.client import Sandbox, SandboxDied, decode_reply

IN_FLIGHT = 2
"""requests queued per fork server, so it never waits for this process to judge the last one"""
RETRIES = 1
"""how often a submission is resent after its fork server died (a grader fault)"""


def configure(sandbox: Sandbox, plan: Plan) -> None:
    """Send the fork server the plan's groups of the kind it preloaded for (``Sandbox.preload``)."""
    for group in plan.groups:
        if group.needs == sandbox.preload:
            sandbox.configure(group.functions, limits=group.limits, load_timeout=plan.load_timeout, group=group.name)


def kinds(assignment) -> list[tuple[str, ...]]:
    """The kinds of fork server an assignment's exercises need (``Exercise.needs``), NumPy first."""
    return sorted({tuple(ex.needs) for ex in assignment.exercises}, key=lambda needs: (bool(needs), needs))


class Worker:
    """Fork servers plus the judging of their replies, for one thread of one process.

    Args:
        needs: the kinds of fork server to start now (``kinds``), e.g. while Keras computes the plan.
        plan: the plan to grade with (or later, with ``configure``).
        index: which worker this is, for the fork servers (``Sandbox.worker``).
        feedback_options: keyword arguments for ``feedback.render`` (e.g. ``pictures=False``).
        servers: the control socket of the zygote that forks NumPy-only fork servers, if any
            (``client.server_zygote``).
        scratch: the folder for the fork servers' folders (``Sandbox.scratch``), if not ``TMPDIR``.
    """

    def __init__(self, needs: list[tuple[str, ...]], *, plan: Plan | None = None, index: int = 0,
                 feedback_options: dict | None = None, servers: int | None = None, scratch: str | None = None):
        self.index, self.feedback_options, self.servers = index, dict(feedback_options or {}), servers
        self.scratch = scratch
        self.sandboxes = {kind: self._sandbox(kind) for kind in needs}
        self.jobs: dict[tuple[str, ...], deque] = {kind: deque() for kind in needs}
        """per kind of server: (submission, fingerprint, group, tries) waiting to be sent"""
        self.sent: dict[Sandbox, deque] = {box: deque() for box in self.sandboxes.values()}
        self.replies: dict[str, dict[str, dict]] = {}
        self.done: list[Finished] = []
        self.server_cpu: dict[Sandbox, float] = {}
        self.usage = {"submissions": 0.0, "fork servers": 0.0, "judging": 0.0}
        """CPU seconds so far: the submissions' processes, the fork servers, this thread's judging"""
        self.selector = selectors.DefaultSelector()
        for box in self.sandboxes.values():
            self.selector.register(box.stdout, selectors.EVENT_READ, box)
        self.plan: Plan | None = None
        self.probe = faults.SandboxProbe(scratch)
        self.checker: faults.Checker | None = None
        """tells a broken sandbox from a student's mistake (created with the first result to judge)"""
        if plan is not None:
            self.configure(plan)

    def _sandbox(self, kind: tuple[str, ...]) -> Sandbox:
        return Sandbox(worker=self.index, preload=kind, zygote=self.servers, scratch=self.scratch)

    def configure(self, plan: Plan) -> None:
        """Send every fork server its groups of ``plan`` (once per run)."""
        self.plan = plan
        for box in self.sandboxes.values():
            configure(box, plan)

    @property
    def busy(self) -> bool:
        """Whether a submission added is not finished yet."""
        return bool(self.done or any(self.jobs.values()) or any(self.sent.values()))

    @property
    def in_flight(self) -> int:
        return sum(len(q) for q in self.sent.values())

    def add(self, sub: Submission, fingerprint: str) -> None:
        """Queue one submission (its file's path must be readable by the fork servers)."""
        if sub.path is None:
            start = time.thread_time()
            self.done.append(finish(without_file(sub, self.plan, fingerprint), **self.feedback_options))
            self.usage["judging"] += time.thread_time() - start
            return
        for group in self.plan.groups:
            self.jobs[group.needs].append((sub, fingerprint, group, 0))

    def step(self) -> list[Finished]:
        """Send what the servers can take, wait for at least one reply, judge what is complete.

        Returns the submissions finished since the last call (possibly none).
        """
        out, self.done = self.done, []
        if out:
            self._feed_all()
            return out
        self._feed_all()
        if not any(self.sent.values()):
            return out
        for key, _ in self.selector.select():
            box = key.data
            if not self.sent[box]:
                continue
            try:
                envelope = box.receive()
            except SandboxDied as e:
                self._replace(box, str(e))
                continue
            sub, fingerprint, group, _ = self.sent[box].popleft()
            self._feed(box)  # the server forks the next child while this process judges
            start = time.thread_time()
            reply = decode_reply(envelope)
            self.usage["submissions"] += float(reply.get("cpu") or 0.0)
            self.server_cpu[box] = float(reply.get("server_cpu") or 0.0)
            self._arrived(sub, fingerprint, group, reply)
            self.usage["judging"] += time.thread_time() - start
        self.usage["fork servers"] = sum(self.server_cpu.values())
        out, self.done = self.done, []
        return out

    def grade(self, items: list[tuple[Submission, str]]) -> list[Finished]:
        """Grade and judge every (submission, fingerprint); returns them finished, in any order."""
        for sub, fingerprint in items:
            self.add(sub, fingerprint)
        finished = []
        while self.busy:
            finished += self.step()
        return finished

    def close(self) -> None:
        self.selector.close()
        for box in self.sandboxes.values():
            box.close()
        self.probe.close()

    def _feed_all(self) -> None:
        for box in list(self.sandboxes.values()):
            self._feed(box)

    def _feed(self, box: Sandbox) -> None:
        waiting = self.jobs[box.preload]
        while box.in_flight < IN_FLIGHT and waiting:
            job = waiting.popleft()
            try:
                box.submit(os.path.abspath(job[0].path), group=job[2].name)  # the child works in its own folder
            except SandboxDied as e:
                waiting.appendleft(job)
                self._replace(box, str(e))
                return
            self.sent[box].append(job)

    def _arrived(self, sub: Submission, fingerprint: str, group: Group, reply: dict) -> None:
        got = self.replies.setdefault(sub.student, {})
        got[group.name] = reply
        groups = self.plan.groups
        if len(got) == len(groups):
            del self.replies[sub.student]
            merged = merge_replies([got[g.name] for g in groups])
            if self.checker is None:
                self.checker = faults.Checker(self.probe)
            result: StudentResult = judge_reply(sub, self.plan, merged, fingerprint=fingerprint, checker=self.checker)
            self.done.append(finish(result, cpu=float(merged.get("cpu") or 0.0), **self.feedback_options))

    def _replace(self, dead: Sandbox, why: str) -> None:
        """A fork server died (never a submission's doing): resend its requests to a fresh one."""
        self.selector.unregister(dead.stdout)
        dead.close()
        self.server_cpu.pop(dead, None)
        waiting = self.jobs[dead.preload]
        for sub, fingerprint, group, tries in reversed(self.sent.pop(dead)):
            if tries < RETRIES:
                waiting.appendleft((sub, fingerprint, group, tries + 1))
            else:
                self._arrived(sub, fingerprint, group, {"status": "error", "detail": why})
        fresh = self._sandbox(dead.preload)
        configure(fresh, self.plan)
        self.sandboxes[dead.preload] = fresh
        self.sent[fresh] = deque()
        self.selector.register(fresh.stdout, selectors.EVENT_READ, fresh)
