"""Find each student's submission in a class folder.

Accepted layouts, for assignment ``a1_neuron``:
  ``<dir>/<student>/a1_neuron.ipynb`` or ``<dir>/<student>/a1_neuron.py`` (plus artifacts), and
  nbgrader's ``submitted/<student>/a1_neuron/a1_neuron.ipynb`` (pass ``submitted/`` or the course
  root that contains it). Every student folder yields exactly one ``Submission``, found or not.
"""
from __future__ import annotations

import hashlib
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Submission:
    student: str
    folder: Path
    """the folder holding the submission and its artifacts"""
    path: Path | None
    """the notebook or .py file to grade, or None when there is none to grade"""
    problem: str = ""
    """why there is nothing to grade (shown to the student), if so"""
    fault: str = ""
    """why the grader could not read the folder or the file, if so: the machine's doing, not the
    student's, so a grader fault (no score; graded again by the next run)"""

    def fingerprint(self) -> str:
        """A hash of the submission file and its artifacts, to notice a changed resubmission (a
        file that cannot be read counts by its name and error, so it changes once it can)."""
        h = hashlib.sha256()
        try:
            found = sorted(self.folder.rglob("*")) if self.folder.is_dir() else []
        except OSError as e:
            found = []
            h.update(f"unreadable folder: {e.errno}".encode())
        for p in found:
            try:
                if p.is_file() and not p.is_symlink():
                    h.update(str(p.relative_to(self.folder)).encode() + b"\0")
                    st = p.stat()
                    if st.st_size > 64 * 2**20:
                        h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
                    else:
                        h.update(p.read_bytes())
            except OSError as e:
                h.update(f"unreadable: {e.errno}".encode())
        return h.hexdigest()


NOT_STUDENTS = ("__MACOSX", "__pycache__")
"""folders that tools leave in a class folder, never a student's: a zip made on a Mac (unzipped
with the class), Python's bytecode cache (as hidden folders, ``.ipynb_checkpoints``, are)"""


def _student_folders(root: Path, exclude: tuple[Path, ...] = ()) -> list[Path]:
    if (root / "submitted").is_dir():
        root = root / "submitted"
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and p.name not in NOT_STUDENTS and p.resolve() not in exclude)


def find_one(folder: Path, assignment_id: str) -> Submission:
    """The student's submission in ``folder``; one that the grader cannot read (its permissions,
    say) comes back with its ``fault``."""
    try:
        return _find_one(folder, assignment_id)
    except OSError as e:  # named from the class folder: the student sees this, not the grading machine's paths
        what = os.path.relpath(e.filename, folder.parent) if e.filename else folder.name
        return Submission(folder.name, folder, None, fault=f"the grader could not read {what} ({e.strerror}): "
                                                            "make it readable to the user running the grader")


def _find_one(folder: Path, assignment_id: str) -> Submission:
    student = folder.name
    nested = folder / assignment_id
    for link in (folder, nested):  # a link could make one student's folder grade another's work
        if link.is_symlink():
            return Submission(student, folder, None, f"{link.name} is a symbolic link; submit the folder itself")
    where = nested if nested.is_dir() else folder
    for suffix in (".ipynb", ".py"):
        candidate = where / f"{assignment_id}{suffix}"
        if candidate.is_symlink():
            return Submission(student, where, None, f"{candidate.name} is a symbolic link; submit the file itself")
        if candidate.is_file():
            _open_to_read(candidate)  # else a fault (``find_one``)
            return Submission(student, where, candidate)
        if candidate.exists():
            return Submission(student, where, None, f"{candidate.name} is not a regular file")
    like = named_like(where, assignment_id) if where.is_dir() else []
    if len(like) == 1:  # "a1_neuron (1).ipynb", "A1_Neuron.ipynb": graded, and the note says so (``judging``)
        _open_to_read(like[0])
        return Submission(student, where, like[0])
    if like:
        names = ", ".join(p.name for p in like)
        return Submission(student, where, None, f"no {assignment_id}.ipynb or {assignment_id}.py in the submission, "
                                                f"and several files that could be it ({names}): name the one to "
                                                f"grade {assignment_id}{like[0].suffix.lower()}")
    present = sorted(p.name for p in where.iterdir())[:8] if where.is_dir() else []
    seen = f" (found: {', '.join(present)})" if present else " (the folder is empty)"
    return Submission(student, where, None,
                      f"no {assignment_id}.ipynb or {assignment_id}.py in the submission{seen}")


def named_like(folder: Path, assignment_id: str) -> list[Path]:
    """The notebooks in ``folder`` named like the assignment, as a download or a slip renames it
    (``a1_neuron (1).ipynb``, ``A1-Neuron.ipynb``, ``a1_neuron_final.ipynb``), or else such
    ``.py`` files: regular files whose name, lower-cased with every run of other characters
    made one ``_``, is the assignment's or goes on after it with ``_``."""
    def like(path: Path) -> bool:
        stem = re.sub(r"[^a-z0-9]+", "_", path.stem.lower())
        return stem == assignment_id or stem.startswith(assignment_id + "_")

    files = [p for p in sorted(folder.iterdir()) if p.is_file() and not p.is_symlink()]
    for suffix in (".ipynb", ".py"):
        found = [p for p in files if p.suffix.lower() == suffix and like(p)]
        if found:
            return found
    return []


def _open_to_read(path: Path) -> None:
    """Raises OSError (PermissionError, say) if this process cannot read the file at ``path``."""
    os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))


def discover(submissions_dir: str | os.PathLike, assignment_id: str, *,
             exclude: tuple[str | os.PathLike, ...] = ()) -> list[Submission]:
    """One ``Submission`` per student folder, sorted by student name.

    ``exclude``: folders that are no student's, however they are named: the run's own output
    folder, when an instructor puts it inside the class folder (a second run would otherwise
    grade it as a student, and give the gradebook a row of zeros).

    Raises:
        NotADirectoryError: ``submissions_dir`` is not a folder, or is one student's.
    """
    root = Path(submissions_dir)
    if root.is_file() and zipfile.is_zipfile(root):  # what an LMS's "download all" gives
        raise NotADirectoryError(f"{root} is a zip file: unzip it first (unzip '{root}' -d '{root.with_suffix('')}') "
                                 "and grade that folder")
    if not root.is_dir():
        raise NotADirectoryError(f"submissions folder {root} does not exist or is not a folder")
    skip = tuple(Path(p).resolve() for p in exclude)
    folders = _student_folders(root, skip)
    own = named_like(root, assignment_id) if not folders else []
    if own:
        raise NotADirectoryError(f"{root} is one student's folder (it holds {own[0].name}): give the folder that "
                                 f"holds one folder per student, such as {root.resolve().parent}")
    return [find_one(folder, assignment_id) for folder in folders]
