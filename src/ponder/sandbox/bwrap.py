"""The bubblewrap command line that starts the worker in an isolated sandbox.

What the sandbox sees:

* ``/usr`` (and ``/bin``, ``/lib``, ``/lib64``, ``/sbin`` as symlinks or read-only binds),
  ``/etc/ld.so.cache``, and the Python installation the worker runs on, all read-only.
  The interpreter is the *base* interpreter (``sys.base_prefix``), not the virtualenv:
  the sandbox gets the standard library only (``-I -S``), no site-packages, no ponder.
* Nothing else of the host: no ``/home``, no ``/work``, no ``/etc`` beyond the loader
  cache, no ``/root``. When the interpreter lives under a home directory (here
  ``/root/.pyenv/versions/3.11.7``), bubblewrap creates empty parent directories and binds
  only the prefix: ``/root`` inside is an empty directory holding that one path, so
  ``~/.ssh``, ``~/.cache`` or the other Python versions are simply not there.
* A private tmpfs ``/tmp`` (``tmp_mb``, the working directory), a fresh ``/proc`` for the
  sandbox's own pid namespace, and bubblewrap's minimal ``/dev``. ``/`` and ``/dev`` are
  remounted read-only at the end, so ``/tmp`` is the only writable place.
* Every namespace unshared (no network: only a loopback of its own), uid/gid 65534 in a
  user namespace that may not create further user namespaces, a new session (no
  terminal injection), a cleared environment, and death with its parent.
* A seccomp filter (``--seccomp FD``, see :mod:`seccomp`) where one can be built: io_uring,
  ptrace, bpf, userfaultfd, perf_event_open, the keyrings and the mount family fail with EPERM.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

SANDBOX_UID = 65534
SANDBOX_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8"}
_SYSTEM_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def find_bwrap(path: str | None) -> str | None:
    """The bubblewrap executable to use, or None when there is none."""
    if path is None:
        return shutil.which("bwrap")
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def base_python() -> str:
    """The real interpreter behind this (possibly virtualenv) Python."""
    executable = getattr(sys, "_base_executable", None) or sys.executable
    return os.path.realpath(executable)


def python_roots(python: str) -> list[str]:
    """The read-only directories the interpreter needs beyond ``/usr``: its installation prefix."""
    roots: list[str] = []
    for prefix in {os.path.realpath(sys.base_prefix), os.path.realpath(sys.base_exec_prefix)}:
        if not _under(prefix, "/usr"):
            roots.append(prefix)
    if not any(_under(python, root) for root in [*roots, "/usr"]):
        roots.append(os.path.dirname(python))
    return sorted(set(roots))


def hidden_from_others(path: str) -> str | None:
    """The highest ancestor of ``path`` that other users may not enter (e.g. ``/root``), if any."""
    current = Path("/")
    for part in Path(path).parts[1:]:
        current = current / part
        try:
            mode = current.stat().st_mode
        except OSError:
            return None
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return str(current)
    return None


def bwrap_argv(bwrap: str, python: str, roots: list[str], tmp_mb: int, seccomp_fd: int | None = None) -> list[str]:
    """The full bubblewrap command (without the worker's own arguments after ``python``)."""
    argv = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns"]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    argv += ["--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
    argv += ["--hostname", "sandbox", "--die-with-parent", "--new-session", "--clearenv"]
    for name, value in SANDBOX_ENV.items():
        argv += ["--setenv", name, value]
    argv += ["--ro-bind", "/usr", "/usr"]
    for directory in _SYSTEM_DIRS:
        if os.path.islink(directory):
            argv += ["--symlink", os.readlink(directory), directory]
        elif os.path.isdir(directory):
            argv += ["--ro-bind", directory, directory]
    if os.path.exists("/etc/ld.so.cache"):
        argv += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    for root in roots:
        argv += ["--ro-bind", root, root]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    argv += ["--size", str(tmp_mb * 1024 * 1024), "--tmpfs", "/tmp", "--chdir", "/tmp"]
    argv += ["--remount-ro", "/dev", "--remount-ro", "/"]
    return argv


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")
