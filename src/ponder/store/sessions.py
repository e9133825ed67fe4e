"""REPL sessions in the run store: the turns of a named session and the code cells each one ran.

A session (``ponder ask --session NAME``) keeps the ``recursive`` code-mode
REPL across questions. The REPL process does not outlive the command, so the
store keeps what rebuilds it: per turn the question, its context (compressed)
and the root conversation; per cell the code and the results of the host
calls it made (``llm_query`` answers, tool outputs, child-run answers), in
order, whether it ``ran`` or ``lost`` the REPL's worker (then it is not replayed),
the seconds of its own work, and for a slow cell the values it left (a sandbox
snapshot: opaque bytes) and the names it could not keep.
:mod:`ponder.strategies.repl_session` replays them into a fresh REPL.

Tables ``repl_sessions``, ``repl_session_turns`` and ``repl_session_cells``
(schema migrations 5 -> 6 and 7 -> 8).
"""

from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import StoreError

if TYPE_CHECKING:
    from .sqlite import RunStore

#: the most bytes of one compressed context a session turn stores
MAX_CONTEXT_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Turn:
    """One question of a session: ``status`` is ``unfinished`` until its run answered or stopped."""

    turn: int
    question: str
    context: str | list[str]
    status: str
    answer: str | None
    history: list[dict[str, str]]


@dataclass(frozen=True, slots=True)
class Cell:
    """One code block a turn ran, and its host calls' recorded results (``[name, ok, value]`` each).

    ``status`` is ``ran``, or ``lost`` when the cell lost the REPL's worker; ``seconds`` the time of its
    own work (host calls not counted; None in stores older than migration 8); ``snapshot`` the values
    it left when it was slow (see :meth:`ponder.sandbox.Sandbox.snapshot`), ``unkept`` the names the
    snapshot could not keep."""

    cell: int
    code: str
    calls: list[list[Any]]
    status: str = "ran"
    seconds: float | None = None
    snapshot: bytes | None = None
    unkept: tuple[str, ...] = ()


class SessionStore:
    """The session tables of a :class:`~ponder.store.RunStore` (see the module docs)."""

    def __init__(self, store: RunStore) -> None:
        self._store = store

    def turns(self, name: str) -> list[Turn]:
        rows = self._store._db.execute(
            "SELECT turn, question, context, status, answer, history FROM repl_session_turns"
            " WHERE name = ? ORDER BY turn",
            (name,),
        ).fetchall()
        return [Turn(int(r[0]), r[1], _unpack(r[2]), r[3], r[4], json.loads(r[5] or "[]")) for r in rows]

    def cells(self, name: str, turn: int) -> list[Cell]:
        rows = self._store._db.execute(
            "SELECT cell, code, calls, status, seconds, snapshot, unkept FROM repl_session_cells"
            " WHERE name = ? AND turn = ? ORDER BY cell",
            (name, turn),
        ).fetchall()
        return [
            Cell(
                int(r[0]),
                r[1],
                json.loads(r[2]),
                r[3],
                None if r[4] is None else float(r[4]),
                None if r[5] is None else bytes(r[5]),
                tuple(json.loads(r[6] or "[]")),
            )
            for r in rows
        ]

    def begin(self, name: str, turn: int, question: str, context: str | list[str]) -> None:
        """Start turn ``turn`` (again: the cells of an earlier attempt at it are dropped)."""
        packed = _pack(context)
        now = time.time()
        with self._store._tx() as db:
            db.execute(
                "INSERT INTO repl_sessions (name, created, updated) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET updated = excluded.updated",
                (name, now, now),
            )
            db.execute("DELETE FROM repl_session_cells WHERE name = ? AND turn = ?", (name, turn))
            db.execute("DELETE FROM repl_session_turns WHERE name = ? AND turn = ?", (name, turn))
            db.execute(
                "INSERT INTO repl_session_turns (name, turn, question, context, status, answer, history, time)"
                " VALUES (?, ?, ?, ?, 'unfinished', NULL, '[]', ?)",
                (name, turn, question, packed, now),
            )

    def add_cell(self, name: str, turn: int, cell: Cell) -> None:
        unkept = json.dumps(list(cell.unkept), ensure_ascii=False)
        calls = json.dumps(cell.calls, ensure_ascii=False)
        with self._store._tx() as db:
            db.execute(
                "INSERT INTO repl_session_cells (name, turn, cell, code, calls, status, seconds, snapshot, unkept)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, turn, cell.cell, cell.code, calls, cell.status, cell.seconds, cell.snapshot, unkept),
            )

    def keep_values(self, name: str, turn: int, cell: int, seconds: float, snapshot: bytes, unkept: list[str]) -> None:
        """Cell ``cell`` proved slow when it was replayed: keep its values, so it is not run again."""
        with self._store._tx() as db:
            db.execute(
                "UPDATE repl_session_cells SET seconds = ?, snapshot = ?, unkept = ? WHERE name = ? AND turn = ? AND cell = ?",
                (seconds, snapshot, json.dumps(unkept, ensure_ascii=False), name, turn, cell),
            )

    def mark_lost(self, name: str, turn: int, cell: int) -> None:
        """Cell ``cell`` lost the worker when it was replayed: it is not replayed again."""
        with self._store._tx() as db:
            db.execute(
                "UPDATE repl_session_cells SET status = 'lost' WHERE name = ? AND turn = ? AND cell = ?",
                (name, turn, cell),
            )

    def finish(self, name: str, turn: int, answer: str | None, history: list[dict[str, str]]) -> None:
        with self._store._tx() as db:
            db.execute(
                "UPDATE repl_session_turns SET status = 'finished', answer = ?, history = ? WHERE name = ? AND turn = ?",
                (answer, json.dumps(history, ensure_ascii=False), name, turn),
            )

    def names(self) -> list[str]:
        rows = self._store._db.execute("SELECT name FROM repl_sessions ORDER BY updated DESC").fetchall()
        return [r[0] for r in rows]

    def summary(self) -> list[dict[str, Any]]:
        """Every session: name, turns, cells, last update (most recent first)."""
        rows = self._store._db.execute(
            "SELECT s.name, s.updated,"
            " (SELECT count(*) FROM repl_session_turns t WHERE t.name = s.name),"
            " (SELECT count(*) FROM repl_session_cells c WHERE c.name = s.name)"
            " FROM repl_sessions s ORDER BY s.updated DESC"
        ).fetchall()
        return [{"name": r[0], "updated": float(r[1]), "turns": int(r[2]), "cells": int(r[3])} for r in rows]

    def drop(self, name: str) -> bool:
        """Forget session ``name`` (its runs stay in the store); False if there is none."""
        with self._store._tx() as db:
            found = db.execute("SELECT 1 FROM repl_sessions WHERE name = ?", (name,)).fetchone() is not None
            for table in ("repl_session_cells", "repl_session_turns", "repl_sessions"):
                db.execute(f"DELETE FROM {table} WHERE name = ?", (name,))
        return found


def _pack(context: str | list[str]) -> bytes:
    data = zlib.compress(json.dumps(context, ensure_ascii=False).encode("utf-8", "surrogatepass"), 6)
    if len(data) > MAX_CONTEXT_BYTES:
        raise StoreError(f"the context is too large to keep in a session ({len(data)} bytes compressed)")
    return data


def _unpack(data: Any) -> str | list[str]:
    value = json.loads(zlib.decompress(bytes(data)).decode("utf-8", "surrogatepass"))
    if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return value
    raise StoreError("a stored session context is not text")
