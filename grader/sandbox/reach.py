"""What a sandboxed child can reach on disk, wherever the project, its venv and Python live.

As root, each child drops to a claimed uid (``jail.UID_POOL``). Folders the grader itself can
enter may be closed to that uid: a checkout inside a 0700 home, ``/root`` or a ``mktemp -d``
folder, a pyenv Python under ``/root``. Landlock decides what a child may read, but it adds to the
ordinary permission checks; it never lifts them. So:

- ``readable_roots`` names the trees children may read (before ``jail.hidden_paths`` are taken
  out): the system, Python's prefixes, the ``course`` package and the ``sys.path`` folders the
  server's modules (and the modules its children may import) really come from, e.g. a shared
  site-packages reached through a ``.pth`` line;
- ``unreachable`` asks, in a forked process running as the sandbox uid, which of them it cannot
  open;
- with Landlock, when some are closed, each child keeps one capability after its uid drop:
  ``CAP_DAC_READ_SEARCH`` (read files and search folders whatever their mode; never write), so
  Landlock's allow-list alone decides what it reads (``keep_capabilities`` / ``read_search_only``).
  What that would newly open inside the system roots, files ``/etc`` keeps from other users
  (``/etc/shadow``, private keys), is hidden (``private_entries``). Never granted without
  Landlock. Note for a seccomp filter: this capability also allows ``open_by_handle_at``, which
  Landlock checks at open time like any open (a disconnected handle is refused); deny it anyway;
- without Landlock, ``check_readable`` stops the server at start-up, with one line saying which
  folder to open up, when the sandbox uid cannot read a module its children need.
"""
from __future__ import annotations

import ctypes
import errno
import functools
import os
import stat
import struct
import sys

PR_SET_KEEPCAPS = 8
CAP_DAC_READ_SEARCH = 2
LINUX_CAPABILITY_VERSION_3 = 0x20080522
SYSTEM_ROOTS = ("/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc")
PRIVATE_CHECKED = ("/etc",)
"""system roots searched for files other users may not read (``/usr`` is too big to walk at every
server start, and holds no secrets on a usual system)"""
NEEDED = ("course", "numpy")
"""what every child imports, whatever the exercise"""

_libc = ctypes.CDLL(None, use_errno=True)


class SandboxSetupError(OSError):
    """The sandbox cannot give its children what they need; the message says what to change."""


def module_locations(names) -> dict[str, list[str]]:
    """Where each importable module of ``names`` lives: a package's folders, or a module's file.

    Uses modules already imported when it can (no import happens for the others).
    """
    import importlib.util

    found = {}
    for name in names:
        module = sys.modules.get(name)
        try:
            if module is not None and getattr(module, "__spec__", None) is not None:
                spec = module.__spec__
            else:
                spec = importlib.util.find_spec(name)
        except (ImportError, ValueError, AttributeError):
            spec = None
        if spec is None:
            continue
        places = list(spec.submodule_search_locations or []) or ([spec.origin] if spec.origin else [])
        places = [os.path.realpath(p) for p in places if p and os.path.exists(p)]
        if places:
            found[name] = places
    return found


@functools.lru_cache(maxsize=None)
def _realpath(path: str) -> str:
    """``os.path.realpath`` of a module's file, once per process and the processes forked from
    it (a fork server's zygote): a few hundred files, each resolved one path component at a time."""
    return os.path.realpath(path)


def readable_roots(modules=()) -> list[str]:
    """The trees a child may read, before ``jail.hidden_paths`` are taken out of them.

    The system, Python's prefixes, the ``course`` package, and each ``sys.path`` folder that
    holds a module this process has imported or one of ``modules`` (those the children may import
    on their own, e.g. matplotlib). The current folder and a source checkout on ``sys.path``
    are never roots as a whole (they may hold submissions or the grader's output).
    """
    import course

    roots = [*SYSTEM_ROOTS, sys.base_prefix, sys.prefix, sys.exec_prefix, *course.__path__]
    try:
        cwd = os.path.realpath(os.getcwd())
    except FileNotFoundError:  # started in a folder since removed: nothing there to read
        cwd = None
    entries = []
    for entry in sys.path:
        if cwd is None and not os.path.isabs(entry):
            continue
        real = os.path.realpath(entry) if entry else cwd
        checkout = os.path.isdir(os.path.join(real, "grader")) and os.path.basename(real) not in (
            "site-packages", "dist-packages")
        if real != cwd and not checkout and os.path.exists(real):
            entries.append(real)
    files = [getattr(m, "__file__", None) for m in list(sys.modules.values())]
    files += [p for places in module_locations(modules).values() for p in places]
    for path in {_realpath(f) for f in files if isinstance(f, str)}:
        holders = [e for e in entries if path.startswith(e.rstrip("/") + "/")]
        if holders:
            roots.append(max(holders, key=len))
    return sorted({r for r in roots if os.path.exists(r)})


def unreachable(uid: int, paths) -> list[str]:
    """The ``paths`` that ``uid`` cannot open for reading (tried by a forked process as ``uid``).

    Must be called as root. A folder counts as reachable when it can be opened and listed.
    """
    paths = list(paths)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            bad = []
            for i, path in enumerate(paths):
                try:
                    if os.path.isdir(path):
                        os.listdir(path)
                    else:
                        os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC))
                except OSError:
                    bad.append(i)
            os.write(write_fd, struct.pack(f"={len(bad)}I", *bad))
            status = 0
        finally:
            os._exit(status)
    os.close(write_fd)
    data = b""
    while chunk := os.read(read_fd, 1 << 16):
        data += chunk
    os.close(read_fd)
    _, wait_status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(wait_status) != 0:
        raise OSError(errno.EPERM, f"could not check what uid {uid} can read")
    return [paths[i] for i in struct.unpack(f"={len(data) // 4}I", data)]


def closed_folder(path: str) -> str:
    """The first folder above or at ``path`` that other users cannot enter (or ``path`` itself)."""
    here = "/"
    for part in os.path.realpath(path).strip("/").split("/"):
        here = os.path.join(here, part)
        try:
            st = os.stat(here)
        except OSError:
            return here
        if stat.S_ISDIR(st.st_mode) and st.st_mode & 0o005 != 0o005:
            return here
    return path


def check_readable(uid: int, modules=()) -> None:
    """Stop when ``uid`` cannot read a module its children need (for a jail without Landlock).

    Raises:
        SandboxSetupError: one line naming the module, the folder closed to the sandbox user and
            what to change.
    """
    locations = module_locations(dict.fromkeys((*NEEDED, *modules)))
    places = [(name, p) for name, ps in locations.items() for p in ps]
    closed = set(unreachable(uid, [p for _, p in places]))
    for name, path in places:
        if path in closed:
            folder = closed_folder(path)
            raise SandboxSetupError(
                errno.EACCES,
                f"the sandbox user (uid {uid}) cannot read {name} at {path}, so submissions could not "
                f"import it: let other users enter {folder} (chmod o+rx {folder}), install the project "
                f"and its venv in a folder they can read, or grade on a kernel with Landlock (Linux 5.13+)")


def private_entries(tops=PRIVATE_CHECKED) -> list[str]:
    """Files and folders under ``tops`` that other users may not read (``/etc/shadow``...)."""
    found = []
    for top in tops:
        for folder, dirs, files in os.walk(top):
            for name in list(dirs):
                path = os.path.join(folder, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if stat.S_ISDIR(st.st_mode) and st.st_mode & 0o005 != 0o005:
                    found.append(path)
                    dirs.remove(name)
            for name in files:
                path = os.path.join(folder, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if not stat.S_ISLNK(st.st_mode) and not st.st_mode & 0o004:
                    found.append(path)
    return found


def keep_capabilities(keep: bool = True) -> None:
    """Keep the permitted capabilities across the coming uid change (``PR_SET_KEEPCAPS``)."""
    if _libc.prctl(PR_SET_KEEPCAPS, ctypes.c_ulong(int(keep)), 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_KEEPCAPS): {os.strerror(err)}")


def read_search_only() -> None:
    """After the uid drop: hold ``CAP_DAC_READ_SEARCH`` alone (effective and permitted), nothing else.

    Raises:
        OSError: the kernel refused (the child must then not run student code).
    """
    header = struct.pack("=Ii", LINUX_CAPABILITY_VERSION_3, 0)
    bit = 1 << CAP_DAC_READ_SEARCH
    data = struct.pack("=6I", bit, bit, 0, 0, 0, 0)  # (effective, permitted, inheritable) x 2 words
    if _libc.capset(header, data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"capset: {os.strerror(err)}")
    keep_capabilities(False)


def capabilities() -> tuple[int, int]:
    """This process's (effective, permitted) capability sets (``capget``; /proc may be hidden)."""
    header = ctypes.create_string_buffer(struct.pack("=Ii", LINUX_CAPABILITY_VERSION_3, 0), 8)
    data = ctypes.create_string_buffer(24)
    if _libc.capget(header, data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"capget: {os.strerror(err)}")
    eff0, prm0, _, eff1, prm1, _ = struct.unpack("=6I", data.raw)
    return eff0 | eff1 << 32, prm0 | prm1 << 32
