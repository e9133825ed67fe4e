"""``results.jsonl``: one row per finished (item, spec), appended as items finish; and the run store's copy.

The file is append-only. A row is written whole with one ``write`` and flushed,
so a killed evaluation leaves at most a torn last line, which is skipped when
the file is read again (and never glued to the next row). A rerun reads the
file to skip the (item, spec hash) pairs it already has; the latest row of a
pair wins (``--retry-errors`` appends a new row for a failed one).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import PonderError
from ..events import Event, RunStarted
from ..store import RunStore

Key = tuple[str, str]


class ResultsFile:
    """The rows of an evaluation (see the module docs)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def rows(self) -> list[dict[str, Any]]:
        """Every complete row, in file order (a torn or foreign line is skipped)."""
        if not self.path.exists():
            return []
        out = []
        try:
            with self.path.open(encoding="utf-8") as stream:
                for line in stream:
                    if not line.endswith("\n"):
                        break  # torn by a kill mid-write
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    if isinstance(row, dict) and "item" in row and "spec_hash" in row:
                        out.append(row)
        except OSError as exc:
            raise PonderError(f"cannot read {self.path}: {exc.strerror}") from None
        return out

    def latest(self) -> dict[Key, dict[str, Any]]:
        """The latest row of each (item id, spec hash)."""
        return {(str(row["item"]), str(row["spec_hash"])): row for row in self.rows()}

    def append(self, row: dict[str, Any]) -> None:
        data = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            except OSError as exc:
                raise PonderError(f"cannot write {self.path}: {exc.strerror}") from None
            self._heal()
        os.write(self._fd, data)

    def _heal(self) -> None:
        """End a torn last line, so the next row starts on a line of its own."""
        assert self._fd is not None
        size = os.fstat(self._fd).st_size
        if size:
            with self.path.open("rb") as stream:
                stream.seek(size - 1)
                if stream.read(1) != b"\n":
                    os.write(self._fd, b"\n")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def record_run(store: RunStore, events: Iterable[Event], row: dict[str, Any], scorer: str) -> None:
    """Write one item's run into ``store`` (its events in one transaction) with its outcome and score."""
    roots: dict[str, str] = {}
    pairs: list[tuple[str, Event]] = []
    for event in events:
        if isinstance(event, RunStarted):
            parent = event.parent_run_id
            roots[event.run_id] = event.run_id if parent is None else roots.get(parent, parent)
        root = roots.get(event.run_id)
        if root is not None:
            pairs.append((root, event))
    if not pairs:
        return
    store.write_events(pairs)
    if row.get("run_id") and row.get("error") is None:
        outcome = "correct" if row["correct"] else "incorrect"
        store.set_outcome(row["run_id"], outcome, f"eval:{scorer}", score=float(row["score"]))
