"""Session rebuild: what a slow cell costs every later question, values kept vs the cell run again.

A session's first question runs ``--fast`` quick cells and one slow cell (``--slow`` seconds of
its own CPU work). Each later question rebuilds the REPL from the store before it answers. Two
sessions are built side by side, alternating: one as ponder stores them now (a slow cell's values
are kept and bound on rebuild; see ``ponder.strategies.repl_session``), one with every cell run
again on rebuild (``SLOW_CELL`` set to infinity: how sessions were rebuilt before). The table gives
the median seconds of a later question (rebuild + one answering cell), and whether a question
under ``--max-seconds`` (less than the slow cell) answers at all.

    .venv/bin/python benchmarks/session_rebuild.py                  # a 3 s cell, 5 questions each
    .venv/bin/python benchmarks/session_rebuild.py --slow 0.5 --repeats 1   # quick check

The root model is the scripted one (no model time); the sandbox is the real one.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from ponder import Budget, Engine, ScriptedModel
from ponder.sandbox import IsolationWarning
from ponder.store import RunStore
from ponder.store.sessions import SessionStore
from ponder.strategies import repl_session
from ponder.strategies.recursive_code import RecursiveCode
from ponder.types import Message

NOW, BEFORE = "values kept (now)", "every cell run again (before)"


def _cells(fast: int, slow: float) -> list[str]:
    burn = (
        f"import time\nt0, n = time.process_time(), 0\nwhile time.process_time() - t0 < {slow}:\n    n += 1\nslow = n"
    )
    return [f"v{i} = {i} * 2" for i in range(fast)] + [burn, "FINAL('built')"]


def _ask(store: RunStore, cells: list[str], question: str, max_seconds: float | None) -> tuple[float, str | None]:
    def model(messages: Sequence[Message]) -> str:
        step = sum(m.role == "assistant" for m in messages)
        code = cells[step] if "build" in messages[1].content else "FINAL(str(slow > 0 and v0 == 0))"
        return f"```python\n{code}\n```"

    session = repl_session.ReplSession(SessionStore(store), "bench")
    engine = Engine(ScriptedModel(model), budget=Budget(max_steps=len(cells) + 5, max_seconds=max_seconds))
    began = time.perf_counter()
    result = engine.run(RecursiveCode("context", session=session), question)
    return time.perf_counter() - began, result.answer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow", type=float, default=3.0, help="CPU seconds of the slow cell")
    parser.add_argument("--fast", type=int, default=20, help="quick cells beside it")
    parser.add_argument("--repeats", type=int, default=5, help="later questions per session")
    parser.add_argument("--slow-cell", type=float, default=repl_session.SLOW_CELL, help="SLOW_CELL of 'now'")
    parser.add_argument("--max-seconds", type=float, default=None, help="the hurried question's limit")
    args = parser.parse_args(argv)
    if args.slow <= 0 or args.fast < 0 or args.repeats < 1 or args.slow_cell <= 0:
        parser.error("--slow and --slow-cell must be > 0, --fast >= 0, --repeats >= 1")
    warnings.simplefilter("ignore", IsolationWarning)
    cells = _cells(args.fast, args.slow)
    limit = args.max_seconds or args.slow * 0.8
    default, modes = repl_session.SLOW_CELL, {NOW: args.slow_cell, BEFORE: math.inf}
    seconds: dict[str, list[float]] = {mode: [] for mode in modes}
    answered: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="ponder-bench-") as folder:
        stores = {mode: RunStore(Path(folder) / f"{i}.db") for i, mode in enumerate(modes)}
        for mode, store in stores.items():
            repl_session.SLOW_CELL = modes[mode]
            _ask(store, cells, "build the session", None)
        for k in range(args.repeats):
            for mode, store in stores.items():  # alternating, so machine noise hits both alike
                repl_session.SLOW_CELL = modes[mode]
                took, answer = _ask(store, cells, f"question {k}", None)
                assert answer == "True", answer
                seconds[mode].append(took)
        for mode, store in stores.items():
            repl_session.SLOW_CELL = modes[mode]
            _, answer = _ask(store, cells, "in a hurry", limit)
            answered[mode] = "yes" if answer == "True" else "no (stopped at the limit)"
            store.close()
    repl_session.SLOW_CELL = default
    print(f"a session of {args.fast} quick cells and one of {args.slow:g} CPU s; {args.repeats} later questions each")
    print()
    print(f"| rebuild | later question, median s | answers under --max-seconds {limit:.2f} |")
    print("| --- | --- | --- |")
    for mode in modes:
        print(f"| {mode} | {statistics.median(seconds[mode]):.2f} | {answered[mode]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
