"""Pictures for the feedback pages: one per failing exercise, where a picture helps.

A picture is a function ``draw(exercise, cases) -> Figure | None`` registered under an exercise
name: ``grader/pictures/<assignment_id>.py`` registers the exercise-specific ones (the sigmoid
curve, the edge detector over a digit), and every other exercise falls back to
``generic.values_vs_keras``. Pictures see only the *public* cases, so they never show a hidden
case in full, and because public inputs are the same for every student, two students with the same
wrong answer get the same picture: images are cached by the values they show.

Drawing costs tens of milliseconds, so callers draw only for failing exercises, and
``grader grade --no-pictures`` skips them. Any error while drawing (a hostile or odd return value)
means no picture, never a failed feedback page.
"""
from __future__ import annotations

import base64
import hashlib
import importlib
import importlib.util
import io
import logging
import os
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Callable

import numpy as np

from course.exercises.base import Exercise
from course.judge import CaseResult, ExerciseResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Draw = Callable[[Exercise, list[CaseResult]], "Figure | None"]

DPI = 90
CACHE_SIZE = 256
SHARED_WAIT = 5.0
"""seconds to wait for another process drawing the same picture (``share``)"""

_REGISTRY: dict[str, Draw] = {}
_LOADED: set[str] = set()
_CACHE: OrderedDict[str, str | None] = OrderedDict()
_PENDING: dict[str, threading.Event] = {}
_LOCK = threading.Lock()
"""guards the cache; never held while drawing, so a cached picture never waits for a new one"""
_DRAWING = threading.Lock()
"""one drawing at a time: matplotlib's font and text caches are shared and not thread-safe (and
the drawing thread holds the GIL anyway)"""
_WARMED: list[int] = []
"""non-empty once ``warm`` has run in this process (or the one it was forked from)"""
_SHARED: list[str] = []
"""a folder whose pictures every process grading this run shares (``share``), if any"""
log = logging.getLogger(__name__)


def share(folder: str | None) -> None:
    """Keep pictures in ``folder`` too (private to the grader), so that processes grading the same
    run draw each one once between them, not once each (and a process that draws none never
    imports matplotlib)."""
    _SHARED[:] = [folder] if folder else []


def register(*names: str):
    """Decorator: use this function to draw the exercises ``names``."""
    def add(draw: Draw) -> Draw:
        for name in names:
            _REGISTRY[name] = draw
        return draw
    return add


def drawer(assignment_id: str, exercise_name: str) -> Draw:
    """The registered picture for an exercise, else the generic one."""
    if assignment_id not in _LOADED:
        module = f"{__name__}.{assignment_id}"
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)  # registers its pictures; the import lock makes this once
        _LOADED.add(assignment_id)  # only now, so that another thread never sees a half-filled registry
    from grader.pictures import generic

    return _REGISTRY.get(exercise_name, generic.values_vs_keras)


def picture(assignment_id: str, result: ExerciseResult) -> str | None:
    """A ``data:image/png;base64,...`` URI picturing the exercise's public cases, or None."""
    public = [c for c in result.cases if not c.case.hidden]
    if not public or all(c.got is None for c in public):
        return None
    key = _key(assignment_id, result.exercise.name, public)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        pending = _PENDING.get(key)
        if pending is None:
            _PENDING[key] = threading.Event()
    if pending is not None:  # another thread is drawing this very picture
        pending.wait()
        with _LOCK:
            return _CACHE.get(key)
    uri = None
    try:
        found, uri = _shared(key)
        if not found:
            with _DRAWING, np.errstate(all="ignore"), _style():  # a student's 1e308 overflows: theirs to see
                fig = drawer(assignment_id, result.exercise.name)(result.exercise, public)
                uri = None if fig is None else data_uri(png(fig))
            _share(key, uri)
    except Exception:  # a value no picture can show; the text feedback still says what is wrong
        log.debug("no picture for %s", result.exercise.name, exc_info=True)
        _share(key, None)
    finally:
        with _LOCK:
            _CACHE[key] = uri
            if len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
            _PENDING.pop(key).set()
    return uri


def _shared(key: str) -> tuple[bool, str | None]:
    """(found, uri) from the shared folder ("" in a file means "no picture"). When another
    process is drawing this picture (its lock file exists), wait a while for it rather than
    draw it twice; otherwise take the lock (``_share`` writes the picture)."""
    if not _SHARED:
        return False, None
    path = os.path.join(_SHARED[0], key)
    deadline = time.monotonic() + SHARED_WAIT
    while True:
        try:
            with open(path, encoding="ascii") as f:
                text = f.read()
            return True, text or None
        except OSError:
            pass
        try:
            os.close(os.open(f"{path}.lock", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            return False, None  # ours to draw
        except FileExistsError:
            if time.monotonic() > deadline:
                return False, None  # the other process is slow (or died): draw it here
            time.sleep(0.005)
        except OSError:
            return False, None


def _share(key: str, uri: str | None) -> None:
    if _SHARED:
        path = os.path.join(_SHARED[0], key)
        tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            with open(tmp, "w", encoding="ascii") as f:
                f.write(uri or "")
            os.replace(tmp, path)  # whole or absent: another process never reads half a picture
        except OSError:
            pass  # only a lost saving


def warm() -> None:
    """Import matplotlib and draw a small figure with text and ticks, once, before grading.

    The first picture a process draws costs it matplotlib's import and font loading, about half
    a second: paid during grading, in several worker processes at once, other workers wait for
    those pictures (``share``), which showed on a 16-core machine as a slower run. A grading
    worker calls this while the run starts, when pictures are on. Once per process: a worker
    forked from a warm zygote, or a second Dask thread of the same process, skips it.
    """
    from grader.pictures import generic

    with _DRAWING:
        if _WARMED:
            return
        _WARMED.append(os.getpid())  # a fork inherits it: its matplotlib is just as warm
        with _style():
            fig = generic.new_figure(1.0, 1.0)
            ax = fig.subplots()
            ax.plot([0, 1], [0, 1])
            ax.set_title("0")
            png(fig)


STYLE = {"axes.titley": 1.0, "text.hinting": "no_hinting"}
"""- titles at the top of their axes, where matplotlib's automatic placement puts them anyway in
  these pictures: it measures every tick label first to find that out, a tenth of a drawing;
- glyphs as the font draws them, not fitted to the pixel grid by FreeType's autohinter, which
  redoes that for every glyph of every label: a seventh of a drawing, for text a little softer."""


def _style():
    from matplotlib import rc_context

    return rc_context(STYLE)


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def data_uri(png_bytes: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes).decode("ascii")


def _key(assignment_id: str, name: str, cases: list[CaseResult]) -> str:
    h = hashlib.sha256(f"{assignment_id}\0{name}".encode())
    for c in cases:
        h.update(b"\1" if c.passed else b"\0")
        _digest(h, c.got, 0)
    return h.hexdigest()


def _digest(h, value, depth: int) -> None:
    """Feed a plain-data value into the hash: arrays by dtype, shape and bytes."""
    if depth > 8:
        h.update(b"deep")
    elif isinstance(value, np.ndarray) or isinstance(value, np.generic):
        arr = np.asarray(value)
        h.update(f"a{arr.dtype.str}{arr.shape}".encode())
        h.update(np.ascontiguousarray(arr).tobytes())
    elif isinstance(value, (list, tuple)):
        h.update(f"l{len(value)}".encode())
        for v in value:
            _digest(h, v, depth + 1)
    elif isinstance(value, dict):
        h.update(f"d{len(value)}".encode())
        for k in sorted(value, key=repr):
            h.update(repr(k).encode("utf-8", "replace"))
            _digest(h, value[k], depth + 1)
    else:
        h.update(f"{type(value).__name__}:{value!r}"[:1000].encode("utf-8", "replace"))
