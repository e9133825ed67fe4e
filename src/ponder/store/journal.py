"""Events on their way into a SQLite store: one append-only file per writing store, moved in by batches.

A SQLite commit costs a dozen system calls (locks on the file and its shared memory, two writes per
page of the log); on a small virtual machine that is ~25 µs per event even with two events per commit,
and twice that inside an engine's loop. So the events of a step are first appended to the store's
*journal*, a file of this process in ``<store>-events/``, with one ``write``: once it returns, the
events survive the death of the process (``kill -9``), exactly as a commit would (an OS crash or a power
cut may lose the last ones, as with ``synchronous=NORMAL``; never earlier ones). The journal is moved
into the database (*absorbed*) in one transaction every :data:`BATCH_ROWS` events, after
:data:`BATCH_SECONDS`, at the end of every top-level run, before anything reads the store,
and when the store closes.

A journal's lines are ``root \\t seq \\t run_id \\t type \\t time \\t json``; an absorbed prefix is
remembered per journal in the ``event_journals`` table, in the same transaction as its rows, so two
processes absorbing one journal never insert a line twice. Only complete lines are taken: a write cut
short by a crash is left out (its events were not durable yet). The writing store holds an exclusive
``flock`` on its journal while it is open, so a reader knows whether the writer still runs; the journal
of a process that is gone is absorbed and removed by the next store that reads.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import socket
import time
import weakref
from collections.abc import Sequence
from pathlib import Path

from .errors import StoreError
from .rows import loads_row

#: the first writes of a store are committed at once, no journal made: a short run (a server's request,
#: one model call) costs less that way than a journal file made, locked and removed
DIRECT_WRITES = 8
#: events appended between two absorptions, at most, and how long the oldest of them waits, at most
BATCH_ROWS = 512
BATCH_SECONDS = 1.0
#: a journal absorbed whole past this size is replaced by a fresh file (a long-lived store stays small)
ROTATE_BYTES = 16 << 20
#: read at most this much of a journal per transaction (a crashed run's long tail goes in by parts)
READ_BYTES = 8 << 20
SUFFIX = "-events"

#: one event row: root id, sequence number, run id, event type, time, the event as JSON
Row = tuple[str, int, str, str, float, str]


def directory_of(store: Path) -> Path:
    return store.with_name(store.name + SUFFIX)


def encodable(row: Row) -> bool:
    """Whether a row can be a journal line (ids and type without tabs or line breaks: the engine's always)."""
    fields = f"{row[0]}{row[2]}{row[3]}"
    return "\t" not in fields and "\n" not in fields and "\r" not in fields


class Journal:
    """This store's journal file (see the module docs); made at the first event it writes."""

    def __init__(self, store: Path) -> None:
        self.directory = directory_of(store)
        token = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"
        self.name = f"{token}.rows"
        self.path = self.directory / self.name
        making = self.directory / f"{token}.new"
        try:
            self.directory.mkdir(exist_ok=True)
            # the file is locked before it takes the name readers look for, so none can take it for an orphan
            self._fd = os.open(making, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, _mode(store))
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            os.rename(making, self.path)
        except OSError as exc:
            raise StoreError(f"cannot write to the run store's journal {self.directory}: {exc.strerror}") from None
        # a store dropped without close(): its descriptor (and lock) go with it; the next reader moves the rest in
        self._closer = weakref.finalize(self, os.close, self._fd)
        self.size = 0
        #: the rows appended since the last absorption, each with the byte offset its line ends at
        self.pending: list[tuple[int, Row]] = []
        #: True once a write failed part-way and could not be undone: the file takes no more lines
        self.sealed = False
        self._since = 0.0

    def append(self, rows: Sequence[Row]) -> None:
        """Append ``rows`` with one write: durable against the death of the process when this returns."""
        if self.sealed:
            raise StoreError(f"the run store's journal {self.path} takes no more events (a write failed)")
        encoded = [f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{r[4]!r}\t{r[5]}\n".encode() for r in rows]
        view = memoryview(b"".join(encoded))
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            try:  # a write cut short (a full disk) leaves part of a line: take it back
                os.ftruncate(self._fd, self.size)
            except OSError:
                self.sealed = True  # the next lines would join the torn one: this file ends here
            raise StoreError(f"cannot write to the run store's journal {self.path}: {exc.strerror}") from None
        if not self.pending:
            self._since = time.monotonic()
        for line, row in zip(encoded, rows, strict=True):
            self.size += len(line)
            self.pending.append((self.size, row))

    def due(self) -> bool:
        """Whether the events appended so far should go into the database now."""
        return len(self.pending) >= BATCH_ROWS or (
            bool(self.pending) and time.monotonic() - self._since >= BATCH_SECONDS
        )

    def full(self) -> bool:
        """Whether, once absorbed, the file should make way for a fresh one (see :data:`ROTATE_BYTES`)."""
        return self.size >= ROTATE_BYTES

    def close(self, *, remove: bool) -> None:
        """Close the file (releasing the lock); ``remove`` it when everything in it is in the database."""
        self._closer()
        if remove:
            self.path.unlink(missing_ok=True)


def _mode(store: Path) -> int:
    """A journal holds what the database holds: it gets the database file's permissions."""
    try:
        return os.stat(store).st_mode & 0o666
    except OSError:
        return 0o600


def journals(directory: Path) -> list[str]:
    """The journal files in ``directory`` (none when it does not exist; a ``.new`` file is one being made)."""
    try:
        return sorted(entry.name for entry in os.scandir(directory) if entry.name.endswith(".rows"))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StoreError(f"cannot read the run store's journals {directory}: {exc.strerror}") from None


def lock_orphan(path: Path) -> int | None:
    """A descriptor of the journal at ``path``, locked, when its writer is gone; None while a writer holds it
    (or when the file is gone). Close it once the journal is absorbed and removed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def lines(path: Path, start: int) -> tuple[list[Row], int, int]:
    """The complete lines of the journal at ``path`` after byte ``start`` (at most :data:`READ_BYTES`), as
    rows; with the byte offset they end at and how many lines were unreadable (damaged by hand)."""
    try:
        with open(path, "rb") as file:
            file.seek(start)
            data = file.read(READ_BYTES)
            while b"\n" not in data and (more := file.read(READ_BYTES)):  # one event longer than a read
                data += more
    except FileNotFoundError:
        return [], start, 0
    end = data.rfind(b"\n") + 1
    rows: list[Row] = []
    bad = 0
    for line in data[: end - 1].decode("utf-8", "replace").split("\n") if end else ():
        try:
            root, seq, run_id, kind, when, text = line.split("\t", 5)
            row = (root, int(seq), run_id, kind, float(when), text)
        except ValueError:
            bad += 1
            continue
        if kind in ("run_started", "run_finished") and not isinstance(loads_row(text), dict):
            bad += 1  # its row in the runs table is made from this text
            continue
        rows.append(row)
    return rows, start + end, bad
