"""The project copied into a private folder and installed there, as a new instructor would have it.

A full venv with TensorFlow takes minutes to install, so the copy gets a venv of its own whose
site-packages reaches this venv's through a ``.pth`` line (how shared venvs are often made, and
exactly the layout whose packages live outside ``sys.prefix``), with the copy installed editable
into it by pip: ``course`` and ``grader`` come from the copy, everything else from here.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def tracked_files() -> list[str]:
    """The repository's files as ``git clone`` would bring them, but as they are in the working
    tree (edits and new files not yet committed included; ignored files left out)."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO, capture_output=True, check=True).stdout
    return [f for f in out.decode().split("\0") if f and (REPO / f).is_file()]


def copy_project(dest: Path) -> Path:
    """The tracked files of this checkout, copied to ``dest``."""
    for name in tracked_files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    return dest


def as_user(uid: int | None) -> list[str]:
    """A command prefix that runs as ``uid`` (nothing for None: as ourselves)."""
    if uid is None:
        return []
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]


def install(project: Path, *, python: str, uid: int | None = None) -> Path:
    """A venv in ``project/.venv`` from ``python`` that sees this venv's packages, with ``project``
    installed editable by pip; returns its interpreter.

    Raises:
        subprocess.CalledProcessError: a step failed (its ``stderr`` says why).
    """
    env = environment(project)

    def run(*cmd):
        proc = subprocess.run([*as_user(uid), *cmd], cwd=project, env=env, capture_output=True, text=True)
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, cmd, proc.stdout, proc.stderr[-3000:])
        return proc
    run(python, "-m", "venv", "--without-pip", str(project / ".venv"))
    venv_python = project / ".venv" / "bin" / "python"
    site = run(str(venv_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    pth = Path(site) / "zz_outer_site_packages.pth"
    run(str(venv_python), "-c", f"open({str(pth)!r}, 'w').write({sysconfig.get_paths()['purelib'] + chr(10)!r})")
    run(str(venv_python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "-e", str(project))
    return venv_python


def environment(project: Path) -> dict:
    """A plain environment for commands run in ``project`` (its own home and temporary folder)."""
    home = project.parent / "home"
    home.mkdir(exist_ok=True)
    tmp = project.parent / "tmp"
    tmp.mkdir(exist_ok=True)
    for folder in (home, tmp):
        st = os.stat(project)
        os.chown(folder, st.st_uid, st.st_gid)
    keep = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL") if k in os.environ}
    return {**keep, "HOME": str(home), "TMPDIR": str(tmp), "PYTHONDONTWRITEBYTECODE": "1",
            "TF_CPP_MIN_LOG_LEVEL": "3"}


def grade(project: Path, python: Path, assignment_id: str, class_dir: Path, out: Path, *,
          uid: int | None = None) -> subprocess.CompletedProcess:
    """``grader grade`` run from ``project`` with its own interpreter."""
    return subprocess.run([*as_user(uid), str(python), "-m", "grader.cli", "grade", assignment_id, str(class_dir),
                           "--out", str(out), "--workers", "1", "--no-pictures"],
                          cwd=project, env=environment(project), capture_output=True, text=True)


def results(out: Path) -> dict[str, dict]:
    """Each student's results.json in ``out``."""
    return {p.stem: json.loads(p.read_text()) for p in sorted((out / "results").glob("*.json"))}


def same_minor_python() -> str | None:
    """A Python other users can run, of this one's version (for the ordinary-user variant)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (sys._base_executable, shutil.which(version, path="/usr/local/bin:/usr/bin")):
        if candidate and _others_can_run(candidate):
            return candidate
    return None


def packages_others_can_read() -> str | None:
    """Why an ordinary user cannot use this venv's packages (TensorFlow, Keras, ...), or None if they can.

    The ordinary-user copy reaches them through a ``.pth`` line; a venv inside a private (0700)
    checkout is out of that user's reach, and installing TensorFlow again for them is too slow here.
    """
    site = sysconfig.get_paths()["purelib"]
    real = Path(os.path.realpath(site))
    closed = [str(f) for f in real.parents if not os.stat(f).st_mode & 0o001]
    if closed or not os.stat(real).st_mode & 0o005 == 0o005:
        return f"this venv's packages ({site}) are private to their owner (closed: {', '.join(closed) or site})"
    return None


def _others_can_run(path: str) -> bool:
    """Whether every folder above ``path`` and the file itself are open to other users."""
    real = Path(os.path.realpath(path))
    for folder in real.parents:
        if not os.stat(folder).st_mode & 0o001:
            return False
    return bool(os.stat(real).st_mode & 0o001)
