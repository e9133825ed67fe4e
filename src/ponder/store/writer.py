"""How a store's events reach its database: through the store's journal, or one transaction per step.

A SQLite file store commits its first few steps at once (a short run is cheaper without a journal
file), then appends each step's rows to its journal (:mod:`ponder.store.journal`) and moves them in
when a batch is due, a top-level run ends, something reads, or the store closes. A PostgreSQL store
(and ``:memory:``) commits each step's rows at once, as does a row the journal cannot hold (an id
with a tab or a line break).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from . import journal as journal_module
from .absorb import Store, conflict, consumed, insert_rows, refresh_journals, set_consumed
from .db import Database
from .errors import StoreError
from .journal import Journal, Row, directory_of, encodable, journals
from .rows import StoreWarning


class EventWriter:
    """The event rows of one :class:`~ponder.store.RunStore` on their way into its database (see the module
    docs). Not thread-safe, like the store."""

    def __init__(self, store: Store, *, journaled: bool, committed: Callable[[int], None]) -> None:
        self._store = store
        #: where the file's journals are (None: every step is committed at once)
        self._directory = directory_of(Path(store.path)) if journaled else None
        #: False once this store could not make its journal (a directory it cannot write)
        self._journaling = journaled and not store.readonly
        self._committed = committed
        #: this store's journal, made once it has written :data:`~ponder.store.journal.DIRECT_WRITES` times
        self._journal: Journal | None = None
        self._writes = 0

    def write(self, rows: Sequence[Row], *, edge: bool) -> None:
        """Record ``rows`` (durable against the death of the process when this returns); ``edge``: a run
        ends among them (a top-level run), so the store should hold all of it now."""
        self._writes += 1
        direct = self._writes <= journal_module.DIRECT_WRITES and self._journal is None
        journal = None if direct or not all(encodable(row) for row in rows) else self._open_journal()
        if journal is None:
            with self._store.db.transaction() as conn:
                taken = self._absorb_own(conn) if self._journal is not None else 0
                taken += insert_rows(conn, rows)
            if self._journal is not None:
                self._journal.pending = []
            self._committed(len(rows))
            if taken:
                raise conflict(str(self._store.path))
            return
        journal.append(rows)
        if edge or journal.due():
            self.absorb()

    def _open_journal(self) -> Journal | None:
        """This store's journal, made on first use; None where events are committed at once."""
        if self._journal is not None and self._journal.sealed:  # a write failed part-way: a fresh file
            self.absorb()
            if self._journal is not None:
                self._journal.close(remove=True)
                self._journal = None
        if self._journal is None and self._journaling:
            try:
                self._journal = Journal(Path(self._store.path))
            except StoreError as exc:
                self._journaling = False
                warnings.warn(f"{exc}; events are committed one step at a time instead", StoreWarning, stacklevel=5)
        return self._journal

    def absorb(self) -> None:
        """Move this store's journal into the database (one transaction); a long journal starts over. Events
        another writer of the same run stored first are left out, and then are one StoreError."""
        journal = self._journal
        if journal is None or not journal.pending:
            return
        rows = len(journal.pending)
        with self._store.db.transaction() as conn:
            taken = self._absorb_own(conn)
        journal.pending = []  # only once committed: after an error they are still to be moved in
        self._committed(rows)
        if journal.full():
            self._journal = None
            journal.close(remove=True)
        if taken:
            raise conflict(str(self._store.path))

    def _absorb_own(self, conn: Database) -> int:
        journal = self._journal
        assert journal is not None
        done = consumed(conn, journal.name)  # a reader may have absorbed a part already
        taken = insert_rows(conn, [row for end, row in journal.pending if end > done])
        set_consumed(conn, journal.name, journal.size)
        return taken

    def refresh(self) -> None:
        """Absorb this store's journal and those of the other stores of the file (live ones up to now; those
        of processes that are gone whole, then removed), so what is read next is complete."""
        if self._directory is None:
            return
        own = self._journal.name if self._journal is not None else None
        if own is not None:
            self.absorb()
        try:
            names = journals(self._directory)
        except StoreError as exc:  # e.g. a folder this user cannot read: read what the database holds
            warnings.warn(f"{exc}; showing what the store holds", StoreWarning, stacklevel=4)
            return
        if any(name != own for name in names):
            refresh_journals(self._store, self._directory, names, own)

    def close(self) -> None:
        """Move the rest of the journal in and remove it; where that fails, it stays for the next reader."""
        journal, self._journal = self._journal, None
        if journal is None:
            return
        moved = False
        try:
            if journal.pending:
                self._journal = journal
                with self._store.db.transaction() as conn:
                    self._absorb_own(conn)  # a conflict was told when the events were written
            moved = True
        except StoreError:
            pass
        finally:
            self._journal = None
            journal.close(remove=moved)
