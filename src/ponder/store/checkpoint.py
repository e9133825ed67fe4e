"""Checkpoints of a SQLite store's write-ahead log, off the writer's path.

In WAL mode a commit appends pages to the ``-wal`` file; a *checkpoint* copies them back into the
database and, with ``synchronous=NORMAL``, is the only moment SQLite calls ``fsync``. SQLite runs it
inside the commit that crosses ``wal_autocheckpoint`` pages, so every few hundred model calls one of
them paid for two ``fsync`` calls and the copy (on this machine that was about 40% of the store's cost
per event). The store's connections switch the automatic checkpoint off, and a :class:`Checkpointer`
thread per database file (one per process, shared by every open :class:`~ponder.store.RunStore` of
that file) runs a ``PASSIVE`` checkpoint on its own connection after every :data:`ROWS` events written.
A passive checkpoint never blocks a writer, and SQLite releases the GIL while it works.

A passive checkpoint alone does not keep the log small: SQLite starts writing the log from its
beginning again only when a write transaction begins with every frame copied back, and a writer that
commits while the checkpoint runs (a fast model, a loaded server) always leaves a few frames behind, so
the log would grow without end (240 MB of log for an 18 MB store after 20,000 scripted calls). When the
log holds :data:`RESTART_FRAMES` frames or more after a passive checkpoint, the thread follows it with a
``RESTART`` checkpoint: it copies the few frames left, waits at most :data:`RESTART_WAIT_MS` for the
readers, and makes the next writer start the log over (it keeps its size, so later commits overwrite
blocks rather than grow the file, which is also cheaper). Writers wait for it briefly (their busy
timeout); a reader that keeps its transaction open longer makes the restart give up, and the next one
tries again.

Nothing about durability changes: a commit is in the log before it returns (so ``kill -9`` loses
nothing committed), and an interrupted checkpoint is repeated by the next one. When the last
connection closes, SQLite checkpoints and removes the log.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

#: events this process writes to one store between two checkpoints (a journal's batch is one commit of many)
ROWS = 1024
#: a log of this many frames (pages, 4 KiB each) or more is started over after the passive checkpoint
RESTART_FRAMES = 2048
#: how long a restart waits for readers of the log (and so holds back writers) before it gives up
RESTART_WAIT_MS = 20


class Checkpointer:
    """A thread checkpointing one database file when enough commits have accumulated."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.users = 0
        #: checkpoints run so far, and how many of them started the log over (for tests and benchmarks)
        self.checkpoints = 0
        self.restarts = 0
        self._rows = 0
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def committed(self, rows: int = 1) -> None:
        """Count a commit of ``rows`` events; every :data:`ROWS` of them, wake the thread (starting it if needed)."""
        with self._guard:
            self._rows += rows
            if self._rows < ROWS:
                return
            self._rows = 0
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=f"ponder-checkpoint {self.path.name}")
                self._thread.daemon = True  # never keeps a process alive; an interrupted checkpoint is harmless
                self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        """End the thread, after the checkpoint it may be running (the commit count is kept)."""
        with self._guard:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._wake.set()
            thread.join()

    def checkpoint(self, conn: sqlite3.Connection) -> None:
        """One checkpoint on ``conn``: passive, then a restart when the log holds too many frames."""
        _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.checkpoints += 1
        if frames >= RESTART_FRAMES:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            self.restarts += 0 if busy else 1

    def _loop(self) -> None:
        me = threading.current_thread()
        conn: sqlite3.Connection | None = None
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._thread is not me:
                    return
                try:
                    if conn is None:
                        conn = sqlite3.connect(str(self.path), timeout=RESTART_WAIT_MS / 1000, isolation_level=None)
                    self.checkpoint(conn)
                except sqlite3.Error:
                    pass  # busy or gone: the next checkpoint (or the last close) copies the pages
        finally:
            if conn is not None:
                conn.close()


_lock = threading.Lock()
_by_path: dict[Path, Checkpointer] = {}


def attach(path: Path) -> Checkpointer:
    """The checkpointer of ``path`` in this process; pair with :func:`detach`. Its commit count lives as long
    as the process, so runs that each open the store for a few commits (a server's) still add up."""
    key = path.resolve()
    with _lock:
        checkpointer = _by_path.get(key)
        if checkpointer is None:
            checkpointer = _by_path[key] = Checkpointer(key)
        checkpointer.users += 1
        return checkpointer


def detach(checkpointer: Checkpointer) -> None:
    """One user fewer; the last one stops the thread."""
    with _lock:
        checkpointer.users -= 1
        last = checkpointer.users == 0
    if last:
        checkpointer.stop()
