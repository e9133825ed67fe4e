"""The run store: every event of every run, recorded as it happens.

One row per event (``events``, keyed by the top-level run and the event's
sequence number), one row per run and child run (``runs``), plus the run spec
that rebuilds a run, the resumes it went through and the outcome a benchmark
recorded. The file uses WAL and a busy timeout, so several processes can write
runs into the same store at once. Events reach a SQLite file through the
store's journal (one write per step, durable at once; moved into the database
in batches, and always before anything reads: see :mod:`ponder.store.journal`).
"""

from __future__ import annotations

import json
import os
import socket
import time
import warnings
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ..events import Event, RunFinished
from ..guards.text import clean_tree, is_clean
from .checkpoint import Checkpointer, attach, detach
from .db import Database, is_url
from .errors import StoreError
from .journal import Row
from .location import default_store_path
from .rows import StoreWarning, loads_row
from .schema import connect
from .sink import StoreSink
from .writer import EventWriter

OUTCOMES = ("correct", "incorrect", "unknown")


class RunStore:
    """A store of runs: a SQLite file, or a PostgreSQL database given as a ``postgresql://`` URL (several
    servers can write into one). ``RunStore()`` opens the default file (see :func:`default_store_path`)."""

    _checkpointer: Checkpointer | None = None

    def __init__(self, path: str | Path | None = None, *, readonly: bool = False) -> None:
        self.readonly = readonly
        location = default_store_path() if path is None else path
        if isinstance(location, str) and is_url(location):
            self._db = connect(location)
            #: where the store is: the file, or the URL without its password
            self.path: Path | str = self._db.where
        else:
            self.path = Path(location)
            self._db = connect(self.path, readonly=readonly)
        if self._db.kind == "sqlite" and not readonly:
            # the log is copied back by a thread of its own, not inside one of the commits (see checkpoint.py)
            self._db.execute("PRAGMA wal_autocheckpoint = 0")
            self._checkpointer = attach(Path(self.path))
        journaled = self._db.kind == "sqlite" and str(self.path) != ":memory:"
        self._writer = EventWriter(self, journaled=journaled, committed=self._committed)

    @property
    def db(self) -> Database:
        return self._db

    def close(self) -> None:
        self._writer.close()
        if self._checkpointer is not None:
            detach(self._checkpointer)
            self._checkpointer = None
        self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tx(self) -> AbstractContextManager[Database]:
        return self._db.transaction()

    # -- writing ----------------------------------------------------------------

    def sink(self, *, resume: str | None = None) -> StoreSink:
        """An event sink recording runs into this store (see :class:`StoreSink`)."""
        return StoreSink(self, resume=resume)

    def write_event(self, root_id: str, event: Event) -> None:
        self.write_events([(root_id, event)])

    def write_events(self, events: Sequence[tuple[str, Event]]) -> None:
        """Record ``(root id, event)`` pairs together (the events of one engine step): durable against the
        death of the process when this returns.

        A SQLite file store appends them to its journal with one write and moves them into the database
        in batches (see :mod:`ponder.store.journal`); other stores commit them in one transaction."""
        rows: list[Row] = []
        edge = False  # a top-level run ends: the store holds all of it when the run returns
        for root_id, event in events:
            text = event.to_json()
            if not is_clean(text):  # the engine's events are valid text already; an event made elsewhere may not be
                text = json.dumps(clean_tree(event.to_dict()), ensure_ascii=False)
            rows.append((root_id, event.seq, event.run_id, event.type, event.time, text))
            edge = edge or (isinstance(event, RunFinished) and event.run_id == root_id)
        self._writer.write(rows, edge=edge)

    def _committed(self, rows: int) -> None:
        if self._checkpointer is not None:
            self._checkpointer.committed(rows)

    def _refresh(self) -> None:
        """Move what waits in the journals of this file into the database, so what is read next is complete."""
        self._writer.refresh()

    def set_outcome(self, run_id: str, outcome: str, source: str = "", score: float | None = None) -> None:
        """Attach an outcome (``correct``, ``incorrect`` or ``unknown``) to a top-level run, e.g. from a benchmark
        or ``ponder eval`` (which also records the item's ``score``, in [0, 1])."""
        if outcome not in OUTCOMES:
            raise StoreError(f"unknown outcome {outcome!r} (use {', '.join(OUTCOMES)})")
        root = self.resolve(run_id)
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO outcomes (root_id, outcome, source, time, score) VALUES (?, ?, ?, ?, ?) ON CONFLICT"
                " (root_id) DO UPDATE SET outcome = excluded.outcome, source = excluded.source, time = excluded.time,"
                " score = excluded.score",
                (root, outcome, source, time.time(), score),
            )

    def add_resume(self, root_id: str, replayed_calls: int, replayed_tools: int, *, forced: bool = False) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO resumes (root_id, time, replayed_calls, replayed_tools, forced) VALUES (?, ?, ?, ?, ?)",
                (root_id, time.time(), replayed_calls, replayed_tools, int(forced)),
            )

    # -- the completion cache (--cache) --------------------------------------------

    def cached_completion(self, key: str) -> dict[str, Any] | None:
        """The completion stored under ``key`` (see :mod:`ponder.engine.call_cache`), or None."""
        with self._tx() as conn:
            row = conn.execute("SELECT completion FROM completions WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row is not None else None

    def cache_completion(self, key: str, model: str, completion: dict[str, Any]) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO completions (key, model, completion, time) VALUES (?, ?, ?, ?) ON CONFLICT (key)"
                " DO UPDATE SET completion = excluded.completion, time = excluded.time",
                (key, model, json.dumps(completion, ensure_ascii=False), time.time()),
            )

    # -- leases: one writer per run ------------------------------------------------

    def take_lease(self, root_id: str) -> None:
        """Mark ``root_id`` as written by this process; StoreError when a live process holds it already
        (a lease of a process that is gone is taken over)."""
        host, pid = socket.gethostname(), os.getpid()
        with self._tx() as conn:
            row = conn.execute("SELECT host, pid FROM leases WHERE root_id = ?", (root_id,)).fetchone()
            if row is not None and (row[0], int(row[1])) != (host, pid) and _alive(row[0], int(row[1])):
                where = f"process {row[1]}" + ("" if row[0] == host else f" on {row[0]}")
                raise StoreError(f"run {root_id} is being written by another process ({where}); wait for it to end")
            conn.execute(
                "INSERT INTO leases (root_id, host, pid, time) VALUES (?, ?, ?, ?) ON CONFLICT (root_id)"
                " DO UPDATE SET host = excluded.host, pid = excluded.pid, time = excluded.time",
                (root_id, host, pid, time.time()),
            )

    def last_seq(self, root_id: str) -> int:
        """The highest sequence number stored for ``root_id`` (0: none)."""
        self._refresh()
        row = self._db.execute("SELECT max(seq) FROM events WHERE root_id = ?", (root_id,)).fetchone()
        return int(row[0] or 0)

    def release_lease(self, root_id: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "DELETE FROM leases WHERE root_id = ? AND host = ? AND pid = ?",
                (root_id, socket.gethostname(), os.getpid()),
            )

    def drop_error_tail(self, root_id: str) -> int:
        """Delete the ``run_finished`` error events that end a failed run (so it can go on); returns how many."""
        self._refresh()
        rows = self._db.execute(
            "SELECT seq, type, data FROM events WHERE root_id = ? ORDER BY seq DESC", (root_id,)
        ).fetchall()
        tail: list[tuple[int, str]] = []
        for seq, kind, data in rows:
            event = loads_row(data) if isinstance(data, str) else None
            if kind != "run_finished" or not isinstance(event, dict) or event.get("stop_reason") != "error":
                break
            tail.append((seq, str(event.get("run_id"))))
        if tail:
            with self._tx() as conn:
                for seq, run_id in tail:
                    conn.execute("DELETE FROM events WHERE root_id = ? AND seq = ?", (root_id, seq))
                    conn.execute(
                        "UPDATE runs SET status = 'unfinished', answer = NULL, stop_reason = NULL, detail = NULL,"
                        " finished = NULL WHERE run_id = ?",
                        (run_id,),
                    )
        return len(tail)

    # -- reading ----------------------------------------------------------------

    def resolve(self, run_id: str) -> str:
        """The top-level run id for ``run_id`` (a full id or a unique prefix of a run or child run)."""
        self._refresh()
        rows = self._db.execute(
            "SELECT run_id, root_id FROM runs WHERE run_id LIKE ? ESCAPE '\\' LIMIT 2",
            (run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",),
        ).fetchall()
        if not rows or not run_id:
            raise StoreError(f"no run {run_id!r} in the store {self.path}")
        exact = [r for r in rows if r[0] == run_id]
        if len(rows) > 1 and not exact:
            raise StoreError(f"run id prefix {run_id!r} is ambiguous; give more characters")
        return str((exact or rows)[0][1])

    def list_runs(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Top-level runs, newest first."""
        self._refresh()
        sql = (
            "SELECT r.run_id, r.strategy, r.model, r.question, r.status, r.answer, r.stop_reason, r.started,"
            " r.finished, (SELECT count(*) FROM events e WHERE e.root_id = r.run_id AND e.type = 'model_call'),"
            " o.outcome FROM runs r LEFT JOIN outcomes o ON o.root_id = r.run_id WHERE r.depth = 0"
            " ORDER BY r.started DESC, r.run_id DESC"
        )
        params: tuple[Any, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (limit,)
        keys = (
            "run_id",
            "strategy",
            "model",
            "question",
            "status",
            "answer",
            "stop_reason",
            "started",
            "finished",
            "model_calls",
            "outcome",
        )
        return [dict(zip(keys, row, strict=True)) for row in self._db.execute(sql, params)]

    def run(self, run_id: str) -> dict[str, Any]:
        """One top-level run: its summary, child runs, resumes, outcome and counts."""
        root = self.resolve(run_id)
        summary = next((r for r in self._runs_of(root) if r["run_id"] == root), None)
        if summary is None:
            raise StoreError(f"no run {run_id!r} in the store {self.path}")
        counts = dict(
            self._db.execute("SELECT type, count(*) FROM events WHERE root_id = ? GROUP BY type", (root,)).fetchall()
        )
        resumes = [
            {"time": t, "replayed_calls": c, "replayed_tools": k}
            for t, c, k in self._db.execute(
                "SELECT time, replayed_calls, replayed_tools FROM resumes WHERE root_id = ? ORDER BY time", (root,)
            )
        ]
        outcome = self._db.execute("SELECT outcome, source, score FROM outcomes WHERE root_id = ?", (root,)).fetchone()
        summary.update(
            children=[r for r in self._runs_of(root) if r["run_id"] != root],
            model_calls=counts.get("model_call", 0),
            tool_calls=counts.get("tool_call", 0),
            events=sum(counts.values()),
            resumes=resumes,
            outcome=outcome[0] if outcome else None,
            outcome_source=outcome[1] if outcome else None,
            outcome_score=outcome[2] if outcome else None,
        )
        return summary

    def _runs_of(self, root: str) -> list[dict[str, Any]]:
        keys = (
            "run_id",
            "parent_run_id",
            "depth",
            "strategy",
            "model",
            "question",
            "status",
            "answer",
            "stop_reason",
            "detail",
            "usage",
            "started",
            "finished",
        )
        rows = self._db.execute(
            f"SELECT {', '.join(keys)} FROM runs WHERE root_id = ? ORDER BY started, run_id", (root,)
        ).fetchall()
        out = []
        for row in rows:
            item = dict(zip(keys, row, strict=True))
            usage = loads_row(item["usage"]) if isinstance(item["usage"], str) and item["usage"] else None
            item["usage"] = usage if isinstance(usage, dict) else None
            out.append(item)
        return out

    def events(self, run_id: str, *, skip_bad: bool = False) -> list[dict[str, Any]]:
        """Every event of a top-level run (children included), in order.

        A row that is not a readable event (edited by hand, damaged) raises :class:`StoreError` naming the
        run and the row; with ``skip_bad`` it is left out with a warning instead."""
        root = self.resolve(run_id)
        out = []
        for seq, data in self._db.execute("SELECT seq, data FROM events WHERE root_id = ? ORDER BY seq", (root,)):
            event = loads_row(data) if isinstance(data, str) else None
            if not isinstance(event, dict) or not isinstance(event.get("type"), str) or "run_id" not in event:
                message = f"run {root} has an unreadable event (row {seq}) in the store {self.path}"
                if not skip_bad:
                    raise StoreError(message)
                warnings.warn(f"{message}; skipped", StoreWarning, stacklevel=2)
                continue
            out.append(event)
        return out

    def spec_data(self, run_id: str) -> dict[str, Any] | None:
        """The stored run spec of a top-level run as plain data (see :class:`ponder.spec.RunSpec`;
        runs stored before specs existed hold a recipe, which :mod:`ponder.spec.legacy` reads), or None."""
        root = self.resolve(run_id)
        row = self._db.execute("SELECT recipe FROM recipes WHERE root_id = ?", (root,)).fetchone()
        if not row:
            return None
        data = loads_row(row[0]) if isinstance(row[0], str) else None
        if not isinstance(data, dict):
            raise StoreError(f"the stored spec of run {root} is unreadable (edited by hand?) in the store {self.path}")
        return data

    def outcome(self, run_id: str) -> str | None:
        root = self.resolve(run_id)
        row = self._db.execute("SELECT outcome FROM outcomes WHERE root_id = ?", (root,)).fetchone()
        return str(row[0]) if row else None

    def root_ids(
        self, strategy: str | None = None, outcome: str | None = None, min_score: float | None = None
    ) -> list[str]:
        """Top-level run ids, oldest first, optionally filtered by strategy, recorded outcome and the outcome's
        score (``min_score``: at least that; a run with no score is left out)."""
        self._refresh()
        sql = "SELECT r.run_id FROM runs r LEFT JOIN outcomes o ON o.root_id = r.run_id WHERE r.depth = 0"
        params: list[Any] = []
        if strategy is not None:
            sql += " AND r.strategy = ?"
            params.append(strategy)
        if outcome == "unknown":
            sql += " AND (o.outcome IS NULL OR o.outcome = 'unknown')"
        elif outcome is not None:
            sql += " AND o.outcome = ?"
            params.append(outcome)
        if min_score is not None:
            sql += " AND o.score IS NOT NULL AND o.score >= ?"
            params.append(float(min_score))
        sql += " ORDER BY r.started, r.run_id"
        return [row[0] for row in self._db.execute(sql, params)]


def _alive(host: str, pid: int) -> bool:
    """Whether the process holding a lease still runs (a process on another host is taken to be alive)."""
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
