"""Starts bubblewrap: joins the sandbox's memory cgroup, and (root only) drops to uid 65534 first.

Cgroup: when the sandbox has a memory cgroup (see :mod:`cgroup`), this launcher writes its
own pid into it before anything else, so bubblewrap and every process of the sandbox are
born inside it (and, as root, before giving up the right to write there).

Root: drop to uid 65534 before starting bubblewrap, so the sandbox is not host root.

Why: bubblewrap maps the sandbox uid to the uid that started it. Started by root, the
sandboxed code runs as host uid 0 in a user namespace, and the kernel exempts uid 0 from
RLIMIT_NPROC (a fork bomb would not be stopped) and grants it the owner bits of every
root-owned file it can reach. So when the host is root, ponder starts bubblewrap as
uid/gid 65534 ("nobody") instead.

Problem: nobody cannot enter ``/root`` (mode 0700), where the interpreter may live
(``/root/.pyenv/...``), and bubblewrap resolves its bind sources as the calling user. So,
in a private mount namespace of this launcher only, each such directory is covered by an
empty tmpfs into which just the interpreter prefix is bind-mounted; then the launcher
drops to nobody and execs bubblewrap. The host's mounts are untouched.

Run as ``python -I -S -c <this source> <json spec> <bwrap argv...>``; standard library only.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys

CLONE_NEWNS = 0x00020000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_NOSUID = 0x2
MS_NODEV = 0x4


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        sys.stderr.write(f"ponder launcher: {what}: {os.strerror(errno)}\n")
        os._exit(126)


def expose(paths: list[str], covers: list[str]) -> None:
    """Cover ``covers`` with empty tmpfs and bind ``paths`` back inside them (private mount namespace)."""
    libc = ctypes.CDLL(None, use_errno=True)
    _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make mounts private")
    handles = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in paths]
    for cover in covers:
        _check(libc.mount(b"tmpfs", cover.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=0755,size=64k"), "tmpfs")
    for path, fd in handles:
        os.makedirs(path, mode=0o755, exist_ok=True)
        _check(libc.mount(f"/proc/self/fd/{fd}".encode(), path.encode(), None, MS_BIND | MS_REC, None), "bind")
        os.close(fd)


def join_cgroup(procs: str) -> None:
    """Move this process into the cgroup whose ``cgroup.procs`` file is ``procs``."""
    try:
        with open(procs, "w") as f:
            f.write(str(os.getpid()))
    except OSError as exc:
        sys.stderr.write(f"ponder launcher: cannot join the memory cgroup: {exc.strerror}\n")
        os._exit(126)


def main(argv: list[str]) -> None:
    spec = json.loads(argv[1])
    if spec.get("cgroup"):
        join_cgroup(spec["cgroup"])
    if spec["covers"]:
        expose(spec["paths"], spec["covers"])
    if spec.get("uid") is not None:
        uid = int(spec["uid"])
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    os.chdir("/")
    os.execv(argv[2], argv[2:])


if __name__ == "__main__":
    main(sys.argv)
