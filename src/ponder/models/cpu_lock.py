"""Sharing the cores between processes that each run an in-process model.

llama.cpp's worker threads spin at a barrier after every operation. Two processes that each
run as many threads as there are cores therefore wait for a time slice at every barrier: two
concurrent ``ponder ask --strategy refine`` runs of SmolLM2-135M on 2 cores took ≈248 s each
against ≈6 s alone. Three ways to share, chosen by the backend's ``sharing`` argument or the
``PONDER_LLAMA_SHARING`` environment variable (``lock``, ``split`` or ``off``):

- ``lock`` (:class:`CpuLock`): one model call at a time for the user: an exclusive ``flock`` on
  ``<cache>/llama.lock`` is held around each call, so the calls of different processes
  interleave but never run at the same time. A waiter first takes ``<cache>/llama.queue``
  and keeps it while it waits, so a process that releases the lock and asks again at once
  queues behind it (turns alternate). Each process keeps its own KV cache.
- ``split`` (:class:`CpuSplit`): every call holds one of the ``<cache>/llama-slots/slot-N``
  files while it runs, and the callers holding a slot are counted (every
  :data:`RECOUNT_SECONDS`, also in the middle of a call); a call uses
  ``threads // callers`` threads (at least one).
- ``off`` (:class:`NoSharing`): every process uses all its threads, as before.

``<cache>`` is ``$XDG_CACHE_HOME/ponder`` or ``~/.cache/ponder``: processes of one user
coordinate, other users' do not. If the lock files cannot be created (a read-only or
unwritable directory), sharing falls back to ``off`` with one :class:`CpuSharingWarning`,
never a hang. ``lock`` and ``split`` also serialise the threads of their own process with an
in-process re-entrant lock, taken before the file lock (one per process and mode, see
:func:`sharer`), so concurrent or nested calls in one process neither deadlock nor slip past
each other. Which mode is the default, and why, is
in :mod:`ponder.models.llama_cpp` (measured by ``benchmarks/embedded_concurrency.py``).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import warnings
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol

from ..errors import ConfigError

Sharing = Literal["lock", "split", "off"]
MODES: tuple[Sharing, ...] = ("lock", "split", "off")
ENV = "PONDER_LLAMA_SHARING"
#: how often (seconds) a ``split`` caller re-counts the others
RECOUNT_SECONDS = 0.2
#: the most ``split`` callers counted (slot files ``slot-0`` .. ``slot-63``)
MAX_SLOTS = 64


class CpuSharingWarning(RuntimeWarning):
    """The lock files could not be used: this process runs without cross-process sharing."""


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/ponder``, or ``~/.cache/ponder`` when it is unset or not absolute."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "ponder"


def resolve_sharing(value: str | None, default: Sharing) -> Sharing:
    """``value``, else ``$PONDER_LLAMA_SHARING``, else ``default``; anything else is a ConfigError."""
    chosen = value if value is not None else os.environ.get(ENV, "").strip().lower() or default
    if chosen not in MODES:
        source = "sharing" if value is not None else ENV
        raise ConfigError(f"{source} must be one of {', '.join(MODES)}, not {chosen!r}")
    return chosen


class Sharer(Protocol):
    """Held around one model call (``with sharer:``); says how many threads the call may use now."""

    def __enter__(self) -> None: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def threads(self, available: int) -> int: ...


_warned: set[str] = set()
_warned_lock = threading.Lock()


def _fallback(path: Path, exc: OSError) -> None:
    """Warn once per path that sharing is off for this process."""
    with _warned_lock:
        if str(path) in _warned:
            return
        _warned.add(str(path))
    message = f"cannot use {path} to share the cores with other processes ({exc.strerror or exc}); running without it"
    warnings.warn(CpuSharingWarning(message), stacklevel=4)


def _open(path: Path) -> int:
    """A descriptor for ``flock`` on ``path``, creating it (and its directory) if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except PermissionError:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # an existing file in a read-only place


class NoSharing:
    """``off``: nothing is shared (each model still serialises its own calls)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def threads(self, available: int) -> int:
        return available


class CpuLock:
    """``lock``: an exclusive ``flock`` on ``path`` held while a call runs (re-entrant in one thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.queue_path = path.with_suffix(".queue")
        self._local = threading.RLock()
        self._depth = 0
        self._fds: tuple[int, int] | None = None
        self._broken = False

    def _descriptors(self) -> tuple[int, int] | None:
        if self._fds is None and not self._broken:
            try:
                main = _open(self.path)
                try:
                    self._fds = (main, _open(self.queue_path))
                except OSError:
                    os.close(main)
                    raise
            except OSError as exc:
                self._broken = True
                _fallback(self.path, exc)
        return self._fds

    def __enter__(self) -> None:
        self._local.acquire()
        try:
            if self._depth == 0:
                self._lock_files()
        except BaseException:
            self._local.release()
            raise
        self._depth += 1

    def _lock_files(self) -> None:
        fds = self._descriptors()
        if fds is None:
            return
        main, queue = fds
        try:
            fcntl.flock(queue, fcntl.LOCK_EX)
            try:
                fcntl.flock(main, fcntl.LOCK_EX)
            finally:
                fcntl.flock(queue, fcntl.LOCK_UN)
        except OSError as exc:  # e.g. ENOLCK on a network file system
            self._close()
            self._broken = True
            _fallback(self.path, exc)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            self._depth -= 1
            if self._depth == 0 and self._fds is not None:
                fcntl.flock(self._fds[0], fcntl.LOCK_UN)
        finally:
            self._local.release()

    def _close(self) -> None:
        if self._fds is not None:
            for fd in self._fds:
                os.close(fd)
            self._fds = None

    def threads(self, available: int) -> int:
        return available


class CpuSplit:
    """``split``: hold a slot file while a call runs; threads = available // slots held by anyone."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._local = threading.RLock()
        self._depth = 0
        self._slot: int | None = None  # the descriptor of the slot this process holds
        self._broken = False
        self._users = 1
        self._counted_at = 0.0

    def __enter__(self) -> None:
        self._local.acquire()
        try:
            if self._depth == 0 and not self._broken:
                self._take_slot()
        except BaseException:
            self._local.release()
            raise
        self._depth += 1

    def _take_slot(self) -> None:
        try:
            for n in range(MAX_SLOTS):
                fd = _open(self.folder / f"slot-{n}")
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                except OSError:
                    os.close(fd)
                    raise
                self._slot = fd
                break
        except OSError as exc:
            self._broken = True
            _fallback(self.folder, exc)
        self._counted_at = 0.0  # count afresh at the start of every call

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            self._depth -= 1
            if self._depth == 0 and self._slot is not None:
                os.close(self._slot)  # closing the only descriptor releases the flock
                self._slot = None
        finally:
            self._local.release()

    def users(self) -> int:
        """Callers holding a slot now, this one included (re-counted every RECOUNT_SECONDS)."""
        now = time.monotonic()
        if self._slot is None or now - self._counted_at < RECOUNT_SECONDS:
            return self._users
        self._counted_at = now
        count = 1
        try:
            mine = os.fstat(self._slot).st_ino
            names = os.listdir(self.folder)
        except OSError:
            return self._users
        for name in names:
            if not name.startswith("slot-"):
                continue
            try:
                fd = os.open(self.folder / name, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                if os.fstat(fd).st_ino == mine:
                    continue
                # a shared probe: it conflicts with holders (exclusive), not with other probes
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                count += 1
            except OSError:
                pass
            finally:
                os.close(fd)  # also drops the probe's shared lock
        self._users = count
        return count

    def threads(self, available: int) -> int:
        return max(1, available // self.users())


_shared: dict[tuple[Sharing, Path], Sharer] = {}
_shared_lock = threading.Lock()


def sharer(mode: Sharing, folder: Path | None = None) -> Sharer:
    """The one sharer of this process for ``mode`` (and lock folder, default :func:`cache_dir`)."""
    where = folder or cache_dir()
    with _shared_lock:
        found = _shared.get((mode, where))
        if found is None:
            if mode == "lock":
                found = CpuLock(where / "llama.lock")
            elif mode == "split":
                found = CpuSplit(where / "llama-slots")
            else:
                found = NoSharing()
            _shared[(mode, where)] = found
        return found
