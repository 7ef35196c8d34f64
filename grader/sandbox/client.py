"""The parent's handle on a fork server: configure it once, then ask it to grade submissions.

``Sandbox.configure(functions, ...)`` sends the run's case inputs and correct-callee sources
once; ``submit``/``receive`` (or ``grade``, both at once) exchange one small request and one
envelope per submission. The envelope's child frames stay raw bytes here: ``decode_reply``
turns them into plain data in the trusted parent (``course.codec``, never pickle).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from course import codec
from grader.quiet import QUIET_ENV
from grader.sandbox.frames import read_frame, unpack_envelope, write_frame
from grader.sandbox.processes import end, last_lines
from grader.sandbox.zygote import Zygote, fork

DEFAULT_LIMITS = {"memory": 2 * 2**30, "output": 1 * 2**20, "processes": 16}
"""per child: ``memory`` caps each process's address space and, where the jail has a cgroup,
every process of the child together; ``processes`` likewise"""
PROTECTIONS: dict[str, list[str]] = {}
"""what the last configured server reported: ``active`` (``Jail.active``) and ``missing``
(``Jail.missing()``), so a run can say once which protections were in force"""
HEAVY_LIMITS = {"keras": {"memory": 8 * 2**30, "output": 1 * 2**20, "processes": 64}}
"""limits for a child that runs Keras: TensorFlow maps ~1.5 GB of address space at import and
starts a pool of threads (each counts as a process for the sandbox user) on its first operation"""
DEFAULT_PRELOAD: tuple[str, ...] = ()
"""what every fork server imports before forking, besides NumPy and the course's loaders"""
DEFAULT_LAZY = ("matplotlib",)
"""imported, on first need, by a copy of the server that grades the submissions mentioning them:
notebooks often import matplotlib, but preloading it makes every fork ~2x dearer"""
KERAS_LAZY = ("tensorflow",)
"""the same for a server that preloaded Keras (on its NumPy backend): a submission that imports
TensorFlow itself is graded by a copy that imported it"""


def limits_for(needs: tuple[str, ...]) -> dict:
    """The child's limits for an exercise that needs these heavy libraries (none: the defaults)."""
    limits = dict(DEFAULT_LIMITS)
    for name in needs:
        for key, value in HEAVY_LIMITS[name].items():
            limits[key] = max(limits[key], value)
    return limits


class SandboxDied(RuntimeError):
    """The fork server itself stopped (a grader fault, never a submission's doing)."""


ONE_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""for a process that is one of many, one per core: its BLAS starts no threads of its own (which
would compete with the other processes for the cores, and a fork server must have no threads)"""


def server_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV_"))}
    env.update(QUIET_ENV)
    env.update(ONE_THREAD_ENV, MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    return env


def server_zygote() -> Zygote:
    """A zygote that forks NumPy-only fork servers (``Sandbox(zygote=...)``): each then starts
    without importing NumPy afresh, which is most of a fork server's start-up."""
    return Zygote([sys.executable, "-m", "grader.sandbox.server", "--lazy", *DEFAULT_LAZY, "--zygote"], env=server_env())


class Sandbox:
    """One fork server process. Not thread-safe: one thread talks to it at a time.

    Args:
        worker: kept for callers; each server claims a sandbox uid of its own (see ``jail``).
        preload: modules the server imports before forking (and children may import), e.g.
            ``("keras",)`` for a server whose children may use Keras.
        zygote: the control socket of a ``server_zygote`` (a descriptor), which forks this
            server if it is a NumPy-only one (no ``preload``); it is started afresh otherwise,
            or if the zygote has stopped.
        lazy: modules imported only for the submissions that mention them (``server.Server``);
            by default ``DEFAULT_LAZY`` for a NumPy-only server, ``KERAS_LAZY`` for a Keras one.
        scratch: the folder for this server's folder and the callees' (a ``scratch.Scratch``'s,
            so that a server killed outright leaves nothing behind); by default ``TMPDIR``'s.
    """

    def __init__(self, *, worker: int = 0, python: str = sys.executable, preload: tuple[str, ...] = DEFAULT_PRELOAD,
                 lazy: tuple[str, ...] | None = None, zygote: int | None = None, scratch: str | None = None):
        if lazy is None:
            lazy = KERAS_LAZY if "keras" in preload else () if preload else DEFAULT_LAZY
        cmd = [python, "-m", "grader.sandbox.server"]
        if os.geteuid() == 0:
            cmd += ["--uid", "1"]  # "drop privileges": the jail picks a free uid for this server
        if preload:
            cmd += ["--preload", *preload]
        if lazy:
            cmd += ["--lazy", *lazy]
        if scratch is not None:
            cmd += ["--scratch", scratch]
        self.process = None
        # the server's error output, for what to say if it stops (its children write elsewhere:
        # each stage's output goes to a file of its own, ``runner``)
        self.log = tempfile.TemporaryFile(dir=scratch)
        if zygote is not None and not preload and python == sys.executable:
            try:
                self.process = fork(zygote, {"argv": cmd[3:]}, stderr=self.log.fileno())
            except OSError:
                pass
        if self.process is None:
            # unbuffered: the parent waits for replies with select(), which can't see a reader's buffer
            self.process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
                                            stderr=self.log, env=server_env())
        self.preload, self.lazy = tuple(preload), tuple(lazy)
        self.in_flight = 0
        # correct callees wait in files only this user can read, never in the server's memory
        self.sources = tempfile.TemporaryDirectory(prefix="grader-callees-", dir=scratch)
        self.written = 0

    @property
    def stdout(self):
        return self.process.stdout

    def _send(self, message: dict, *, as_json: bool = False) -> None:
        try:
            write_frame(self.process.stdin, json.dumps(message).encode() if as_json else codec.encode(message))
        except (BrokenPipeError, ValueError) as e:
            raise self._stopped(str(e)) from None

    def _receive(self) -> bytes:
        frame = read_frame(self.process.stdout)
        if frame is None:
            raise self._stopped()
        return frame

    def _stopped(self, how: str = "") -> SandboxDied:
        """``SandboxDied``, saying the last line the server wrote to its error output (e.g. the
        exception that stopped it), if any."""
        try:
            last = last_lines(self.log.fileno(), 2000)[-1:]
        except (OSError, ValueError):
            last = []
        why = "; ".join(filter(None, [how, *last]))
        return SandboxDied(f"the sandbox server stopped unexpectedly{f' ({why})' if why else ''}")

    def _with_source_files(self, functions: list[dict]) -> list[dict]:
        """The functions with each ``inject`` dict of sources moved into a file (``inject_file``)."""
        specs = []
        for spec in functions:
            spec = dict(spec)
            sources = spec.pop("inject", None) or {}
            if sources:
                self.written += 1
                path = os.path.join(self.sources.name, f"{self.written}-{spec['name']}.json")
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as f:
                    json.dump(sources, f)
                spec.update(inject_file=path, inject_names=sorted(sources))
            specs.append(spec)
        return specs

    def configure(self, functions: list[dict], *, limits: dict | None = None, load_timeout: float = 10.0,
                  group: str = "") -> None:
        """Send the run's functions once: ``[{name, cases, inject, timeout, adapter?, artifact?}]``
        in grading order; ``group`` names them when one server grades several groups (A4)."""
        functions = self._with_source_files(functions)
        self._send({"op": "configure", "group": group, "functions": functions, "limits": limits or DEFAULT_LIMITS,
                    "load_timeout": float(load_timeout)})
        meta, _ = unpack_envelope(self._receive())
        if meta.get("status") == "refused":  # it can't grade anything here: what to change, in one line
            raise SandboxDied(f"the sandbox cannot start: {meta.get('detail')}")
        if meta.get("status") != "ok":
            raise SandboxDied(f"the sandbox refused its configuration: {meta.get('detail')}")
        PROTECTIONS.update(active=meta.get("jail", []), missing=meta.get("missing", []))

    def submit(self, submission: str, *, job_id=None, group: str = "", **inline) -> None:
        """Queue one submission (a path the server can read) for one configured ``group``;
        answers come in order.

        ``inline`` may give this request its own ``functions``, ``limits`` or ``load_timeout``.
        """
        if "functions" in inline:
            inline["functions"] = self._with_source_files(inline["functions"])
        self._send({"op": "grade", "id": job_id, "submission": str(submission), "group": group, **inline},
                   as_json=not inline)
        self.in_flight += 1

    def receive(self) -> bytes:
        """The envelope for the oldest submitted submission (raw bytes; see ``decode_reply``)."""
        frame = self._receive()
        self.in_flight -= 1
        return frame

    def grade(self, submission: str, **inline) -> bytes:
        self.submit(submission, **inline)
        return self.receive()

    def probe(self, *, modules=(), files=(), limits: dict | None = None, timeout: float = 60.0) -> dict[str, str]:
        """Whether a confined child of this server, running no submission code, can import
        ``modules`` and read ``files``: ``{name or path: "" if it could, else the error}``.

        Raises:
            SandboxDied: the server, or the probing child itself, failed (a grader fault).
        """
        self._send({"op": "probe", "modules": list(modules), "files": list(files),
                    "limits": limits or limits_for(self.preload), "timeout": float(timeout)}, as_json=True)
        meta, blobs = unpack_envelope(self._receive())
        if meta.get("status") != "ok":
            raise SandboxDied(f"the sandbox's probe failed: {meta.get('detail') or meta.get('status')}")
        return codec.decode(blobs[0])

    def run(self, request: dict) -> dict:
        """One function on one submission, the old single-request way (tests and tools).

        ``request``: ``function``, ``cases``, ``inject``, ``timeout``, ``submission``, optional
        ``limits``, ``adapter`` and ``artifact`` (the modules a child may import are the
        server's ``preload``). Returns ``{"status", "detail", "result": {notes, fatal, missing,
        outcomes} or None, "output"}``.
        """
        spec = {"name": request["function"], "cases": request["cases"], "inject": request.get("inject") or {},
                "timeout": float(request["timeout"])}
        spec.update({key: request[key] for key in ("adapter", "artifact") if request.get(key)})
        reply = decode_reply(self.grade(request["submission"], functions=[spec],
                                        limits=request.get("limits") or DEFAULT_LIMITS,
                                        load_timeout=float(request["timeout"])))
        if reply.get("status") != "ok":
            return {"status": "error", "detail": reply.get("detail", ""), "result": None, "output": ""}
        load, fn = reply["load"], reply["functions"][0] if reply["functions"] else {}
        stage = load if load["status"] != "ok" else fn
        status = stage.get("status", "error")
        status = {"not_run": load["status"]}.get(status, status)
        result = None
        if status == "ok":
            result = {**(load.get("data") or {}), **(fn.get("data") or {})}
        return {"status": status, "detail": load["detail"] if load["status"] != "ok" else fn.get("detail", ""),
                "result": result, "output": reply.get("output", "")}

    def close(self) -> None:
        if self.in_flight:
            # requests no one will read the replies to: SIGTERM unwinds the server now (its
            # children killed, its folders removed) rather than once it has graded them all,
            # which it might never do, blocked writing a reply to a pipe no one reads
            self.process.terminate()
        end(self.process, timeout=10)
        self.process.stdout.close()
        self.log.close()
        self.sources.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def decode_reply(envelope: bytes) -> dict:
    """A server envelope as plain data, each child frame decoded (into ``data``) or explained.

    Returns ``{"status", "detail", "id", "load": {status, detail, seconds, data}, "functions":
    [{name, status, detail, seconds, data}], "output", "seconds", "children"}``; a frame that
    can't be decoded turns its stage's status into ``"unreadable"``.

    Raises:
        SandboxDied: the envelope itself is malformed (written by the server: a grader fault).
    """
    try:
        meta, blobs = unpack_envelope(envelope)
    except (ValueError, KeyError, TypeError) as e:
        raise SandboxDied(f"the sandbox server sent a malformed reply ({e})") from None
    if meta.get("status") != "ok":
        return meta
    stages = [meta["load"], *meta["functions"]]
    for stage, blob in zip(stages, blobs):
        stage["data"] = None
        if stage["status"] == "ok":
            try:
                stage["data"] = codec.decode(blob)
            except codec.CodecError as e:
                stage.update(status="unreadable", detail=f"its results could not be read: {e}")
    return meta
