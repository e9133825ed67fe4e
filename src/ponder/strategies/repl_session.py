"""Sessions of ``recursive`` code mode: one REPL kept across questions, rebuilt by replay.

``ponder ask --session NAME`` (``RunSpec.session``) runs each question as one
*turn* of the session. In the REPL, turn ``k``'s context is ``context_k`` (and
``context`` while the turn runs), and the root conversation of each earlier
turn is ``history_k`` (a list of ``{"role", "content"}``), so later questions
can use what earlier ones computed: every variable of earlier turns is there.

The REPL process ends with the command, so the session lives in the run store
(:mod:`ponder.store.sessions`): each code cell is stored as soon as it ran,
with the results of the host calls it made. A new turn rebuilds the REPL by
replaying every stored cell in order, its host calls answered from the record
(no model or tool call is made again); a turn that crashed keeps the cells it
ran, so the next question sees the REPL as it was at the crash. Asking the
crashed turn's question again on the same context (or ``ponder resume`` of its
run) redoes that turn instead of adding one. Code whose result depends on
something else than its host calls (time, randomness) may rebuild different
values; a cell that now makes other host calls than when it ran is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..sandbox import Sandbox
from ..store.sessions import SessionStore, Turn

Handler = Callable[[str, Any], Any]


class Router:
    """The sandbox's host handler: records each call's result for the session, or answers a replayed cell."""

    def __init__(self, live: Handler) -> None:
        self.live = live
        self.recorded: list[list[Any]] = []
        self._replay: list[list[Any]] | None = None
        self.mismatches = 0

    def handler(self, name: str, payload: Any) -> Any:
        if self._replay is not None:
            return self._replayed(name)
        try:
            value = self.live(name, payload)
        except Exception as exc:
            self.recorded.append([name, False, str(exc)])
            raise
        self.recorded.append([name, True, value])
        return value

    def take(self) -> list[list[Any]]:
        """The calls recorded since the last ``take``."""
        calls, self.recorded = self.recorded, []
        return calls

    def replaying(self, calls: list[list[Any]] | None) -> None:
        self._replay = list(calls) if calls is not None else None

    def _replayed(self, name: str) -> Any:
        assert self._replay is not None
        if not self._replay or self._replay[0][0] != name:
            self.mismatches += 1
            raise RuntimeError(f"session replay: this cell now calls {name}, which it did not when it first ran")
        _, ok, value = self._replay.pop(0)
        if not ok:
            raise RuntimeError(str(value))
        return value


class ReplSession:
    """A named session in a store (see the module docs). One turn is open at a time."""

    def __init__(self, store: SessionStore, name: str) -> None:
        self.store = store
        self.name = name
        self.turn: int | None = None
        self._cells = 0

    def open(self, sandbox: Sandbox, router: Router, question: str, context: str | list[str]) -> dict[str, Any]:
        """Rebuild the REPL from the stored turns, then start this question's turn; what was restored."""
        turns = self.store.turns(self.name)
        last = turns[-1] if turns else None
        redo = last is not None and last.status == "unfinished" and last.question == question
        redo = redo and last is not None and last.context == context
        earlier = turns[:-1] if redo else turns
        cells = 0
        for turn in earlier:
            cells += self._restore(sandbox, router, turn)
        self.turn = last.turn if redo and last is not None else (earlier[-1].turn + 1 if earlier else 0)
        sandbox.set_variable(f"context_{self.turn}", context)
        sandbox.run(f"context = context_{self.turn}")
        self.store.begin(self.name, self.turn, question, context)
        self._cells = 0
        return {
            "session": self.name,
            "turn": self.turn,
            "restored_turns": len(earlier),
            "cells": cells,
            "redo": redo,
            "mismatches": router.mismatches,
        }

    def cell(self, code: str, calls: list[list[Any]]) -> None:
        """Store one code cell of the open turn as soon as it ran."""
        assert self.turn is not None
        self._cells += 1
        self.store.add_cell(self.name, self.turn, self._cells, code, calls)

    def finish(self, answer: str | None, history: list[dict[str, str]]) -> None:
        if self.turn is not None:
            self.store.finish(self.name, self.turn, answer, history)

    def _restore(self, sandbox: Sandbox, router: Router, turn: Turn) -> int:
        sandbox.set_variable(f"context_{turn.turn}", turn.context)
        if turn.history:
            sandbox.set_variable(f"history_{turn.turn}", turn.history)
        sandbox.run(f"context = context_{turn.turn}")
        cells = self.store.cells(self.name, turn.turn)
        for cell in cells:
            router.replaying(cell.calls)
            try:
                sandbox.run(cell.code)
            finally:
                router.replaying(None)
        return len(cells)
