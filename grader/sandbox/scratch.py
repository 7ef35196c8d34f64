"""A run's scratch folder: where its processes keep their temporary folders, so none outlives it.

A process killed outright (``SIGKILL``, the kernel's out-of-memory killer) cleans nothing up: a
lost grading worker would leave its callees' folder in ``/tmp``, a lost fork server its sandbox
folder, one more each time. So a run (``grading.pool.grade_local``, or a Dask worker process)
keeps them all inside one ``Scratch``, ``<tmp>/grader-run-XXXXXXXX``, whose path its processes
are given (``--scratch``), and removes it whatever is left in it when it ends. A run killed outright itself
leaves its scratch behind, so each new one first removes the folders of runs that no process holds
any more: a run holds an ``flock`` on its folder's lock file while it lives (as Dask's
``WorkSpace`` does for its workers' folders). A folder is locked before it gets its name, so a run
starting beside another never takes the other's live folder for a dead one; where it cannot be
locked at all (a file system without locks), it keeps its hidden name, which no sweep takes.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import stat
import tempfile

from grader.sandbox.processes import tmp

PREFIX = "grader-run-"
LOCK = ".lock"


class Scratch:
    """A locked scratch folder in ``parent`` (by default ``processes.tmp()``), mode 0711: the
    sandbox user walks through it to its own folder, but cannot list it. ``path`` is the folder;
    ``close()`` (or leaving a ``with`` block) removes it."""

    def __init__(self, parent: str | None = None):
        parent = parent or tmp()
        purge(parent)
        staging = tempfile.mkdtemp(prefix="." + PREFIX, dir=parent)  # a hidden name: nobody's run yet
        self._lock = os.open(os.path.join(staging, LOCK), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX)  # new, so never contended
        except OSError:  # a file system without locks (some NFS): keep the hidden name, which no sweep takes
            self.path = staging
        else:
            self.path = os.path.join(parent, os.path.basename(staging)[1:])
            os.rename(staging, self.path)
        os.chmod(self.path, 0o711)

    def close(self) -> None:
        if self._lock >= 0:
            shutil.rmtree(self.path, ignore_errors=True)
            os.close(self._lock)
            self._lock = -1

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def purge(parent: str) -> list[str]:
    """Remove this user's scratch folders in ``parent`` that no live run holds; returns their paths."""
    removed = []
    try:
        names = [name for name in os.listdir(parent) if name.startswith(PREFIX)]
    except OSError:
        return removed
    for name in names:
        path = os.path.join(parent, name)
        try:
            info = os.lstat(path)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():  # never another user's, nor a link
                continue
            fd = os.open(os.path.join(path, LOCK), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: that run is alive
            continue
        else:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        finally:
            os.close(fd)
    return removed
