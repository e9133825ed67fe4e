"""Bounds-checked reads of context files: a file that changes under us is an error, never a crash.

Context files used to be memory-mapped, and touching a mapped page past the
end of a file that shrank kills the process with SIGBUS (no message, the run
left unfinished). They are now read with :func:`os.pread` on a descriptor:
a read past the end simply comes back short, and a short read is reported
as :class:`ContextChangedError`, naming the file and its size now and when the
context was opened. A file that grew is read as it was (its first ``size``
bytes); one that was deleted stays readable through its open descriptor.

A file is opened when its context is (so one deleted afterwards stays
readable) and its descriptor kept in one process-wide pool of at most
:data:`MAX_OPEN` (the limit it counts against, ``RLIMIT_NOFILE``, is per
process); the file opened longest ago is closed first and reopened, checked
again (same file, not shorter), when it is next read. A descriptor is closed when its last reader lets
go of it, so closing one never pulls it from under a read in another thread.
A small read (a chunk's text) reads 64 KiB ahead, kept while the file is open,
because chunks and records are read in order: one system call serves dozens.
"""

from __future__ import annotations

import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from ..errors import PonderError

#: descriptors of context files open at once, at most
MAX_OPEN = 64
#: bytes read at a time by sequential scans (chunking, counting records)
BLOCK = 1 << 20
#: a read of at most _SMALL bytes reads _AHEAD bytes and keeps them for the next reads (one buffer
#: per open file, so at most MAX_OPEN * _AHEAD bytes in all)
_SMALL, _AHEAD = 16 * 1024, 64 * 1024
_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)  # never block on a FIFO


class ContextFileError(PonderError):
    """A context file cannot be read (an I/O error, or it changed: see :class:`ContextChangedError`)."""


class ContextChangedError(ContextFileError):
    """A context file shrank, vanished or was replaced after the context was opened."""


class ContextWarning(UserWarning):
    """Files of a context folder were skipped because they cannot be read (see ``Context.skipped``)."""


class _Handle:
    """An open descriptor, closed when the last reference to it goes."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __del__(self, _close: Callable[[int], None] = os.close) -> None:
        try:  # noqa: SIM105 - no contextlib here: __del__ may run during interpreter shutdown
            _close(self.fd)
        except OSError:
            pass


class _Pool:
    """The files whose descriptors are open, oldest first (a read does not reorder: it must stay cheap)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._files: OrderedDict[ContextFile, None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, file: ContextFile) -> None:
        with self._lock:
            self._files[file] = None
            self._files.move_to_end(file)
            while len(self._files) > self.limit:
                old, _ = self._files.popitem(last=False)
                old._handle = old._ahead = None

    def drop(self, file: ContextFile) -> None:
        with self._lock:
            self._files.pop(file, None)


_POOL = _Pool(MAX_OPEN)


def file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


class ContextFile:
    """The bytes ``[0, size)`` of one file, ``size`` fixed when it was opened."""

    def __init__(self, path: Path, size: int, identity: tuple[int, int], handle: _Handle | None = None) -> None:
        self.path = path
        self.size = size
        self._identity = identity
        self._handle = handle
        #: the bytes read ahead by the last small read, and where they begin
        self._ahead: tuple[int, bytes] | None = None
        if handle is not None:
            _POOL.add(self)

    @classmethod
    def probe(cls, path: Path) -> ContextFile | str:
        """Open ``path`` for reading, or say why it cannot be read (a short reason, no path)."""
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            return "a dangling symbolic link" if os.path.islink(path) else "it vanished before it could be read"
        except OSError as exc:
            return exc.strerror or str(exc)
        if not stat.S_ISREG(mode):  # never open a FIFO or a device
            return file_kind(mode)
        try:
            fd = os.open(path, _FLAGS)
        except FileNotFoundError:
            return "it vanished before it could be read"
        except OSError as exc:
            return exc.strerror or str(exc)
        handle = _Handle(fd)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return file_kind(st.st_mode)
        return cls(path, st.st_size, (st.st_dev, st.st_ino), handle)

    def read(self, start: int, end: int) -> bytes:
        """The bytes ``[start, end)`` (clipped to ``[0, size)``); raises :class:`ContextChangedError`
        when the file no longer holds them."""
        if start < 0:
            start = 0
        if end > self.size:
            end = self.size
        if start >= end:
            return b""
        ahead = self._ahead
        if ahead is not None and ahead[0] <= start and end <= ahead[0] + len(ahead[1]):
            return ahead[1][start - ahead[0] : end - ahead[0]]
        if end - start <= _SMALL:  # chunks and records are read in order: read the next ones too
            data = self._pread(start, min(self.size, start + _AHEAD))
            self._ahead = (start, data)
            return data[: end - start]
        return self._pread(start, end)

    def _pread(self, start: int, end: int) -> bytes:
        handle = self._handle or self._open()
        try:
            data = os.pread(handle.fd, end - start, start)
            while len(data) < end - start:  # a regular file reads short only at its end
                more = os.pread(handle.fd, end - start - len(data), start + len(data))
                if not more:
                    raise self._shrank(os.fstat(handle.fd).st_size)
                data += more
        except OSError as exc:
            raise ContextFileError(f"cannot read the context file {self.path}: {exc.strerror or exc}") from None
        return data

    def close(self) -> None:
        """Let go of the descriptor (a later read reopens the file, checked again)."""
        self._handle = self._ahead = None
        _POOL.drop(self)

    def _open(self) -> _Handle:
        try:
            handle = _Handle(os.open(self.path, _FLAGS))
        except FileNotFoundError:
            raise ContextChangedError(f"the context file {self.path} vanished after the context was opened") from None
        except OSError as exc:
            raise ContextFileError(f"cannot open the context file {self.path}: {exc.strerror or exc}") from None
        st = os.fstat(handle.fd)
        if (st.st_dev, st.st_ino) != self._identity:
            raise ContextChangedError(f"the context file {self.path} was replaced after the context was opened")
        if st.st_size < self.size:
            raise self._shrank(st.st_size)
        self._handle = handle
        _POOL.add(self)
        return handle

    def _shrank(self, now: int) -> ContextChangedError:
        return ContextChangedError(
            f"the context file {self.path} shrank after the context was opened: {now:,} bytes now, {self.size:,} then"
        )


class Blocks:
    """Sequential reads of one document through a buffer of about :data:`BLOCK` bytes.

    Scans find byte offsets in the buffer and ask for the next block only when
    they pass its end, so a large file costs one read per block.
    """

    __slots__ = ("_base", "_block", "_buf", "_read", "size")

    def __init__(self, read: Callable[[int, int], bytes], size: int, data: bytes = b"", block: int = 0) -> None:
        self._read = read
        self.size = size
        self._buf = data  # an in-memory document is one block
        self._base = 0
        self._block = block or BLOCK

    def span(self, start: int, end: int) -> tuple[bytes, int]:
        """A buffer holding the document's bytes ``[start, end)``, and the buffer's offset in the document."""
        end = min(end, self.size)
        if start < self._base or end > self._base + len(self._buf):
            self._buf = self._read(start, min(self.size, start + max(self._block, end - start)))
            self._base = start
        return self._buf, self._base

    def at(self, pos: int, need: int = 1) -> tuple[bytes, int]:
        """A buffer holding ``pos`` and the ``need - 1`` bytes after it (fewer at the end), and its offset."""
        return self.span(pos, pos + need)
