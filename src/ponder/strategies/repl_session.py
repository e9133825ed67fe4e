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

Three rules keep a rebuild possible and short:

* **A cell that lost the worker is not replayed.** A cell that crashed the
  REPL's worker (``os._exit``, a segfault, a loop that had to be killed) is
  stored as ``lost``, and the REPL is rebuilt at once as it was before that
  cell (:meth:`ReplSession.recover`), so the turn goes on with every variable of
  the session; later rebuilds skip it too, and later questions work. A cell
  that crashes the worker only when it is replayed is marked ``lost`` then and
  the rebuild starts over without it.
* **A slow cell's values are kept, not its side effects.** A cell whose own
  work (its host calls not counted) took :data:`SLOW_CELL` seconds or more is
  stored with a snapshot of the REPL's values after it (pickled inside the
  sandbox; see :meth:`~ponder.sandbox.Sandbox.snapshot`). The rebuild does not
  run it again: it runs only its ``import``, ``def`` and ``class`` statements
  (so its functions exist) and binds the kept values. What the cell did besides
  (files it wrote, output it printed) is not redone, and a value that could not
  be pickled (a lambda, an open file, a generator) is not kept: the question's
  prompt names those variables. A cell stored without values (an older store)
  that proves slow when it is replayed gets them then, for the next rebuild.
* **The rebuild keeps to the run's time limit.** Each replayed cell runs with
  the engine told between polls (a :class:`~ponder.requests.Checkpoint`), and
  at most for the seconds the run has left, so a rebuild never runs past
  ``--max-seconds``: when time is up the run stops with its time limit.
"""

from __future__ import annotations

import ast
import queue
import time
from collections.abc import Callable, Generator
from dataclasses import replace
from typing import Any

from .. import steps
from ..requests import Checkpoint, Record, Request
from ..sandbox import ExecResult, Sandbox
from ..store.sessions import Cell, SessionStore, Turn
from .recursive_repl import Bridge

Handler = Callable[[str, Any], Any]

#: seconds of a cell's own work from which its values are kept and the cell is not run again
SLOW_CELL = 2.0
#: how often the run's time limit is looked at while a replayed cell runs
CHECK_SECONDS = 0.25
#: rebuilds started over because a replayed cell lost the worker, before the rest is replayed as it comes
MAX_RESTARTS = 3


class Router:
    """The sandbox's host handler: records each call's result for the session, or answers a replayed cell."""

    def __init__(self, live: Handler) -> None:
        self.live = live
        self.recorded: list[list[Any]] = []
        self.host_seconds = 0.0  # time spent in live host calls since the last ``take``
        self._replay: list[list[Any]] | None = None
        self.mismatches = 0

    def handler(self, name: str, payload: Any) -> Any:
        if self._replay is not None:
            return self._replayed(name)
        began = time.perf_counter()
        try:
            value = self.live(name, payload)
        except Exception as exc:
            self.recorded.append([name, False, str(exc)])
            raise
        finally:
            self.host_seconds += time.perf_counter() - began
        self.recorded.append([name, True, value])
        return value

    def take(self) -> tuple[list[list[Any]], float]:
        """The calls recorded since the last ``take``, and the seconds they took."""
        calls, self.recorded = self.recorded, []
        seconds, self.host_seconds = self.host_seconds, 0.0
        return calls, seconds

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


class _StartOver(Exception):  # noqa: N818 - a signal inside the rebuild
    """A replayed cell lost the worker: it is marked lost, and the rebuild starts again without it."""


class ReplSession:
    """A named session in a store (see the module docs). One turn is open at a time."""

    def __init__(self, store: SessionStore, name: str) -> None:
        self.store = store
        self.name = name
        self.turn: int | None = None
        self.unkept: list[str] = []  # variables of earlier turns the rebuild could not bring back
        self._cells = 0

    def open(
        self, sandbox: Sandbox, router: Router, bridge: Bridge, question: str, context: str | list[str]
    ) -> Generator[Request, Any, dict[str, Any]]:
        """Rebuild the REPL from the stored turns, then start this question's turn; what was restored."""
        turns = self.store.turns(self.name)
        last = turns[-1] if turns else None
        redo = last is not None and last.status == "unfinished" and last.question == question
        redo = redo and last is not None and last.context == context
        earlier = turns[:-1] if redo else turns
        cells = skipped = restarts = 0
        while True:
            self.unkept = []
            try:
                cells = skipped = 0
                for turn in earlier:
                    replayed, lost = yield from self._restore(sandbox, router, bridge, turn, restarts < MAX_RESTARTS)
                    cells, skipped = cells + replayed, skipped + lost
                break
            except _StartOver:
                restarts += 1
        self.turn = last.turn if redo and last is not None else (earlier[-1].turn + 1 if earlier else 0)
        sandbox.set_variable(f"context_{self.turn}", context, setup=True)
        sandbox.run(f"context = context_{self.turn}", setup=True)
        self.store.begin(self.name, self.turn, question, context)
        self._cells = 0
        return {
            "session": self.name,
            "turn": self.turn,
            "restored_turns": len(earlier),
            "cells": cells,
            "skipped_cells": skipped,
            "unkept": sorted(set(self.unkept)),
            "redo": redo,
            "mismatches": router.mismatches,
        }

    def cell(self, sandbox: Sandbox, router: Router, code: str, result: ExecResult) -> None:
        """Store one code cell of the open turn as soon as it ran (a slow one with its values)."""
        assert self.turn is not None
        self._cells += 1
        calls, host_seconds = router.take()
        own = max(result.seconds - host_seconds, 0.0)
        cell = Cell(self._cells, code, calls, "lost" if result.restarted else "ran", round(own, 3))
        self.store.add_cell(self.name, self.turn, cell)
        if not result.restarted and own >= SLOW_CELL:
            self._keep_values(sandbox, self.turn, cell, own)

    def recover(
        self, sandbox: Sandbox, router: Router, bridge: Bridge, lost: ExecResult
    ) -> Generator[Request, Any, ExecResult]:
        """The open turn's cell ``lost`` lost the worker: rebuild the session's REPL as it was before that
        cell (every stored turn, this one's cells so far), and say so in the cell's result."""
        self.unkept = []
        replayed = 0
        for turn in self.store.turns(self.name):
            if self.turn is not None and turn.turn <= self.turn:
                cells, _ = yield from self._restore(sandbox, router, bridge, turn, False)
                replayed += cells
        sandbox.run(f"context = context_{self.turn}", setup=True)
        unkept = sorted(set(self.unkept))
        missing = f"; not restored: {', '.join(unkept[:20])}" if unkept else ""
        note = f"the session's REPL was rebuilt as it was before this block ({replayed} cell(s) replayed{missing})"
        yield Record(steps.SESSION, f"session {self.name}: the worker was lost; {note}", {"replayed": replayed})
        if lost.error is None:  # threads it could not stop: the block itself ran
            return replace(lost, stderr=f"{lost.stderr}note: {note}\n")
        error = f"{lost.error.split('; ')[0]}; {note}"  # what killed the worker, and what came back
        return replace(lost, error=error, stderr=error + "\n")

    def finish(self, answer: str | None, history: list[dict[str, str]]) -> None:
        if self.turn is not None:
            self.store.finish(self.name, self.turn, answer, history)

    def note(self) -> str:
        """What the root model is told about variables the rebuild could not bring back ('' if none)."""
        if not self.unkept:
            return ""
        names = sorted(set(self.unkept))
        shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
        return (
            f" These variables of earlier questions could not be restored (their cells were slow, and the values"
            f" could not be kept): {shown}; compute them again if you need them."
        )

    def _restore(
        self, sandbox: Sandbox, router: Router, bridge: Bridge, turn: Turn, may_start_over: bool
    ) -> Generator[Request, Any, tuple[int, int]]:
        """Replay one earlier turn: (cells replayed or restored, cells skipped because they lost the worker)."""
        sandbox.set_variable(f"context_{turn.turn}", turn.context, setup=True)
        if turn.history:
            sandbox.set_variable(f"history_{turn.turn}", turn.history, setup=True)
        sandbox.run(f"context = context_{turn.turn}", setup=True)
        cells = self.store.cells(self.name, turn.turn)
        skipped = 0
        for cell in cells:
            if cell.status == "lost":
                skipped += 1
                continue
            code = definitions(cell.code) if cell.snapshot is not None else cell.code
            result = yield from self._replay(
                sandbox, router, bridge, code, [] if cell.snapshot is not None else cell.calls
            )
            if result.restarted:
                self.store.mark_lost(self.name, turn.turn, cell.cell)
                if may_start_over:
                    raise _StartOver
                skipped += 1
                continue
            if cell.snapshot is not None:
                kept = sandbox.restore(cell.snapshot)
                self.unkept += [*cell.unkept, *kept.skipped]
                if kept.error is not None:
                    self.unkept.append(f"(all values of a slow cell: {kept.error})")
            elif result.seconds >= SLOW_CELL:  # slow when replayed (an older row, or slower now): not again
                self._keep_values(sandbox, turn.turn, cell, result.seconds)
        return len(cells) - skipped, skipped

    def _keep_values(self, sandbox: Sandbox, turn: int, cell: Cell, seconds: float) -> None:
        """Snapshot the REPL after a slow cell, taking at most as long as the cell did."""
        snap = sandbox.snapshot(timeout=min(sandbox.config.timeout, max(seconds, SLOW_CELL)))
        if snap.error is None:
            self.store.keep_values(self.name, turn, cell.cell, round(seconds, 3), snap.data, list(snap.skipped))

    def _replay(
        self, sandbox: Sandbox, router: Router, bridge: Bridge, code: str, calls: list[list[Any]]
    ) -> Generator[Request, Any, ExecResult]:
        """Run a stored cell again, its host calls answered from ``calls``, within the run's time left."""
        left = yield Checkpoint()
        timeout = sandbox.config.timeout if left is None else max(min(sandbox.config.timeout, float(left)), 0.1)
        router.replaying(calls)
        thread = bridge.start(sandbox, code, timeout)
        try:
            while True:
                try:
                    item = bridge.calls.get(timeout=CHECK_SECONDS)
                except queue.Empty:
                    yield Checkpoint()  # StopRun when the run's time is up
                    continue
                if isinstance(item, tuple):
                    result = item[1]
                    if isinstance(result, BaseException):
                        raise result
                    return result
                item.reply.put((False, "no host call is served while a session is rebuilt"))
        except BaseException:
            sandbox.abort()
            thread.join(timeout=30)
            raise
        finally:
            router.replaying(None)


def definitions(code: str) -> str:
    """The ``import``, ``def`` and ``class`` statements at the top level of ``code`` ('' if it does not parse)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return ""
    kinds = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return "\n".join(ast.unparse(node) for node in tree.body if isinstance(node, kinds))
