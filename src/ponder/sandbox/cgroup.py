"""A memory cgroup for one sandbox worker: a bound on the memory of all its processes together.

RLIMIT_AS bounds each process (so four processes of 400 MB each fit under a 512 MB limit);
a cgroup bounds their sum, page cache and the private ``/tmp`` (a tmpfs, charged as memory)
included. The limit is ``memory_mb + tmp_mb``: the processes' allowance plus the size of
``/tmp``. When it is reached the kernel's OOM killer ends a process of the sandbox (usually the
largest), never one outside it.

Where: a child of this process's own memory cgroup, under cgroup v2 (``memory.max``, swap
off) or the v1 memory controller (``memory.limit_in_bytes`` and, with swap accounting,
``memory.memsw.limit_in_bytes``). That needs write access to the cgroup: root (a container
running as root, a server), or a delegated subtree (systemd ``Delegate=yes``). Without it
:func:`create` returns ``None`` and memory stays limited per process only; the sandbox says so
in :attr:`~ponder.sandbox.Sandbox.memory_scope` (``"cgroup"`` or ``"per-process"``).
The worker is placed in the cgroup by the launcher (see :mod:`launcher`) before bubblewrap
starts, so every process of the sandbox is born inside it; the cgroup is removed when the
worker is killed.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from dataclasses import dataclass
from pathlib import Path

_ROOT = Path("/sys/fs/cgroup")
_counter = itertools.count()


@dataclass(frozen=True)
class Cgroup:
    path: str
    procs: str  # the file a process writes its pid into to join

    def remove(self) -> None:
        """Remove the (empty) cgroup; its processes were killed just before, so retry briefly."""
        for _ in range(50):
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.01)


def create(limit_bytes: int) -> Cgroup | None:
    """A new memory cgroup limited to ``limit_bytes``, or None where none can be made."""
    for parent, version in _parents():
        made = _make(parent, version, limit_bytes)
        if made is not None:
            return made
    return None


def _parents() -> list[tuple[Path, int]]:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return []
    found: list[tuple[Path, int]] = []
    for line in lines:
        _id, controllers, path = line.split(":", 2)
        relative = path.lstrip("/")
        if controllers == "" and _id == "0":  # cgroup v2
            for base in (_ROOT, _ROOT / "unified"):
                if (base / "cgroup.controllers").exists():
                    found.append((base / relative, 2))
        elif "memory" in controllers.split(","):
            found.append((_ROOT / "memory" / relative, 1))
    found.sort(key=lambda item: -item[1])  # v2 first: it is the one that counts where both exist
    return found


def _make(parent: Path, version: int, limit_bytes: int) -> Cgroup | None:
    if not os.access(parent, os.W_OK):
        return None
    path = parent / f"ponder-sandbox-{os.getpid()}-{next(_counter)}"
    try:
        path.mkdir()
    except OSError:
        return None
    try:
        if version == 2:
            if not (path / "memory.max").exists():
                raise OSError("the memory controller is not enabled for this cgroup's children")
            (path / "memory.max").write_text(str(limit_bytes))
            with contextlib.suppress(OSError):
                (path / "memory.swap.max").write_text("0")
        else:
            (path / "memory.limit_in_bytes").write_text(str(limit_bytes))
            with contextlib.suppress(OSError):  # only with swap accounting
                (path / "memory.memsw.limit_in_bytes").write_text(str(limit_bytes))
    except OSError:
        with contextlib.suppress(OSError):
            path.rmdir()
        return None
    return Cgroup(str(path), str(path / "cgroup.procs"))
