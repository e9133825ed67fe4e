"""The store's database connection: SQLite (a file, the default) or PostgreSQL (a URL, for a fleet).

The store's SQL is written once, in the subset both speak (``?`` placeholders,
``INSERT ... ON CONFLICT``); :class:`Database` adapts it to the connection it
holds and turns driver errors into :class:`~ponder.store.schema.StoreError`
with one clear line. Transactions are explicit (``with db.transaction()``): an
immediate write lock on SQLite, a plain transaction on PostgreSQL, where the
events' primary key keeps two writers of one run apart.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from .errors import StoreError

Kind = Literal["sqlite", "postgresql"]
_URL = re.compile(r"^postgres(?:ql)?://", re.IGNORECASE)


def is_url(location: str) -> bool:
    """Whether a ``--store`` value names a PostgreSQL server rather than a SQLite file."""
    return bool(_URL.match(location))


def redact(url: str) -> str:
    """``url`` without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class Database:
    """One connection to the store's database (see the module docs)."""

    def __init__(self, conn: Any, kind: Kind, where: str) -> None:
        self.conn = conn
        self.kind = kind
        #: the file or the (password-free) URL, for messages
        self.where = where
        if kind == "sqlite":
            self._integrity: type[Exception] = sqlite3.IntegrityError
            self._error: type[Exception] = sqlite3.DatabaseError
        else:
            import psycopg

            self._integrity, self._error = psycopg.IntegrityError, psycopg.Error

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement (``?`` placeholders) and return its cursor."""
        if self.kind == "postgresql":
            sql = sql.replace("?", "%s")
        try:
            return self.conn.execute(sql, tuple(params))
        except self._error as exc:
            if self._in_transaction():
                raise  # the transaction turns it into a StoreError after rolling back
            raise StoreError(f"cannot read the run store {self.where}: {_first_line(exc)}") from None

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run one statement once per row (inside a transaction: the events of one step); returns how many
        rows it changed."""
        if self.kind == "postgresql":
            sql = sql.replace("?", "%s")
            with self.conn.cursor() as cursor:
                cursor.executemany(sql, rows)
                return int(cursor.rowcount)
        return int(self.conn.executemany(sql, rows).rowcount)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """A write transaction; a duplicate event (another writer of the same run) is one clear StoreError."""
        try:
            self.conn.execute("BEGIN IMMEDIATE" if self.kind == "sqlite" else "BEGIN")
        except self._error as exc:
            raise StoreError(f"cannot write to the run store {self.where}: {_first_line(exc)}") from None
        try:
            yield self
            self.conn.execute("COMMIT")
        except self._integrity:
            self.conn.execute("ROLLBACK")
            raise StoreError(
                f"the run store {self.where} already holds this event: is the run being written (or resumed)"
                " by another process?"
            ) from None
        except self._error as exc:
            self.conn.execute("ROLLBACK")
            raise StoreError(f"cannot write to the run store {self.where}: {_first_line(exc)}") from None
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def _in_transaction(self) -> bool:
        if self.kind == "sqlite":
            return bool(self.conn.in_transaction)
        import psycopg

        return bool(self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE)

    def close(self) -> None:
        self.conn.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
