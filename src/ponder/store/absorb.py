"""Rows into the database: the events of a step or of a journal, the runs they start and end, and the
journals of other stores of the same file (see :mod:`ponder.store.journal`)."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import orjson

from .db import Database
from .errors import StoreError
from .journal import Row, lines, lock_orphan
from .rows import StoreWarning, loads_row

_INSERT_EVENT = (
    "INSERT INTO events (root_id, seq, run_id, type, time, data) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (root_id, seq) DO NOTHING"
)


def insert_rows(conn: Database, rows: Sequence[Row]) -> int:
    """Insert event rows (inside a transaction), and the ``runs`` rows of the runs they start and end.

    Returns how many of them were left out because the store already holds another event under their
    run and sequence number (another writer of the same run: see :meth:`RunStore.take_lease`); a row
    stored already with the same content (moved in by a reader of the journal) is no conflict."""
    if not rows:
        return 0
    mine: Sequence[Row] = rows
    if conn.executemany(_INSERT_EVENT, rows) < len(rows):
        mine = [row for row in rows if _stored_text(conn, row) == row[5]]
    for row in mine:
        if row[3] in ("run_started", "run_finished"):
            _write_run(conn, row)
    return len(rows) - len(mine)


def _stored_text(conn: Database, row: Row) -> str | None:
    found = conn.execute("SELECT data FROM events WHERE root_id = ? AND seq = ?", (row[0], row[1])).fetchone()
    return str(found[0]) if found is not None else None


def conflict(where: str) -> StoreError:
    return StoreError(
        f"the run store {where} already holds this event: is the run being written (or resumed) by another process?"
    )


def _write_run(conn: Database, row: Row) -> None:
    root_id, _, run_id, kind, when, text = row
    try:
        event = orjson.loads(text)  # what ponder wrote: valid text already
    except orjson.JSONDecodeError:
        event = loads_row(text)  # a NaN, an escaped lone surrogate: the careful reader
    if not isinstance(event, dict):  # a journal line edited by hand (lines() leaves those out already)
        return
    if kind == "run_started":
        conn.execute(
            "INSERT INTO runs (run_id, root_id, parent_run_id, depth, strategy, model, question,"
            " started) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING",
            (
                run_id,
                root_id,
                event.get("parent_run_id"),
                event.get("depth", 0),
                event.get("strategy", ""),
                event.get("model", ""),
                event.get("question", ""),
                when,
            ),
        )
        if event.get("spec") is not None and run_id == root_id:
            conn.execute(
                "INSERT INTO recipes (root_id, recipe) VALUES (?, ?)"
                " ON CONFLICT (root_id) DO UPDATE SET recipe = excluded.recipe",
                (root_id, json.dumps(event["spec"], ensure_ascii=False)),
            )
    else:
        stop = event.get("stop_reason", "")
        conn.execute(
            "UPDATE runs SET status = ?, answer = ?, stop_reason = ?, detail = ?, usage = ?, finished = ?"
            " WHERE run_id = ?",
            (
                "error" if stop == "error" else "finished",
                event.get("answer"),
                stop,
                event.get("error") or event.get("detail", ""),
                json.dumps(event.get("usage") or {}),
                when,
                run_id,
            ),
        )


def consumed(conn: Database, name: str) -> int:
    """How many bytes of the journal ``name`` are in the database."""
    row = conn.execute("SELECT consumed FROM event_journals WHERE name = ?", (name,)).fetchone()
    return int(row[0]) if row is not None else 0


def set_consumed(conn: Database, name: str, size: int) -> None:
    conn.execute(
        "INSERT INTO event_journals (name, consumed) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET consumed = excluded.consumed",
        (name, size),
    )


class Store(Protocol):
    """What absorbing other journals needs of :class:`ponder.store.RunStore`."""

    path: Path | str
    readonly: bool

    @property
    def db(self) -> Database: ...


def refresh_journals(store: Store, directory: Path, present: Sequence[str], own: str | None) -> None:
    """Absorb the journals in ``present`` but ``own`` (other stores of ``store``'s file): a live writer's up to
    its last complete line, a gone writer's whole (then the file is removed). A read-only store opens the
    file for writing just for this, when there is something to move. Whatever stands in the way (a file
    or a database this user cannot write, a lock held too long) is one warning: the reader goes on with
    what the database holds."""
    locked: dict[str, int | None] = {}  # the journals with lines to move in, and the lock of those whose writer is gone
    try:
        for name in present:
            if name != own:
                _note(store, directory / name, locked)
        if not locked:
            return
        db, opened = _writable(store)
        try:
            for name in locked:
                _absorb_file(db, directory, name)
            with db.transaction() as conn:  # forget the journals whose files are gone: nothing more comes from them
                for (name,) in conn.execute("SELECT name FROM event_journals").fetchall():
                    if not (directory / name).exists():
                        conn.execute("DELETE FROM event_journals WHERE name = ?", (name,))
            for name, fd in locked.items():
                if fd is not None:  # its writer is gone, and everything it wrote is in the database now
                    (directory / name).unlink(missing_ok=True)
        finally:
            if opened:
                db.close()
    except (OSError, StoreError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        warnings.warn(
            f"events waiting in the run store's journals ({directory}) could not be moved in ({why});"
            " showing what the store holds",
            StoreWarning,
            stacklevel=4,
        )
    finally:
        for fd in locked.values():
            if fd is not None:
                os.close(fd)


def _note(store: Store, path: Path, locked: dict[str, int | None]) -> None:
    """Put the journal at ``path`` in ``locked`` when it has lines to move in or its writer is gone."""
    fd = lock_orphan(path)
    try:
        size = os.fstat(fd).st_size if fd is not None else path.stat().st_size
    except FileNotFoundError:
        size = -1
    except BaseException:
        if fd is not None:
            os.close(fd)
        raise
    if fd is not None or size > consumed(store.db, path.name):
        locked[path.name] = fd


def _absorb_file(db: Database, directory: Path, name: str) -> None:
    """Move the journal ``name`` in, one transaction per part read (another writer waits for one part only)."""
    bad = taken = 0
    while True:
        with db.transaction() as conn:
            start = consumed(conn, name)
            rows, end, damaged = lines(directory / name, start)
            if end == start:
                break
            taken += insert_rows(conn, rows)
            set_consumed(conn, name, end)
        bad += damaged
    if bad:
        warnings.warn(
            f"the run store's journal {directory / name} has {bad} unreadable line(s) (edited by hand?); skipped",
            StoreWarning,
            stacklevel=4,
        )
    if taken:
        warnings.warn(
            f"{taken} event(s) in the run store's journal {directory / name} were stored already by another"
            " writer of the same run; skipped",
            StoreWarning,
            stacklevel=4,
        )


def _writable(store: Store) -> tuple[Database, bool]:
    """A connection that can write to ``store``'s file: its own, or (read-only store) one opened for this."""
    if not store.readonly:
        return store.db, False
    from .schema import connect

    return connect(Path(store.path)), True
