"""The recursive REPL survives its worker: a lost worker gets the REPL's setup again and the run goes on;
a session whose cell crashed the worker is rebuilt without it; a rebuild keeps slow cells' values (not
their side effects) and keeps to the run's time limit. The root model is the scripted one throughout."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import pytest

from ponder import Budget, Engine, RunResult, ScriptedModel
from ponder.sandbox import Sandbox, SandboxConfig
from ponder.store import RunStore
from ponder.store.sessions import Cell, SessionStore
from ponder.strategies import repl_session
from ponder.strategies.recursive_code import RecursiveCode
from ponder.strategies.repl_session import ReplSession, definitions
from ponder.types import Message

pytestmark = pytest.mark.integration

#: ways model-written code loses the worker: exit, a segfault, a loop in C that no signal stops, a thread
#: that cannot be stopped at the end of the call
CRASHES = {
    "exit": "import os\nos._exit(3)",
    "segfault": "import ctypes\nctypes.string_at(0)",
    "loop-in-c": "import itertools\nsum(itertools.repeat(1, 10**15))",
    "stray-thread": "import threading, time\nthreading.Thread(target=time.sleep, args=(600,)).start()",
}


def block(code: str) -> str:
    return f"```python\n{code}\n```"


def turns(messages: Sequence[Message]) -> int:
    return sum(m.role == "assistant" for m in messages)


@pytest.fixture(autouse=True)
def _quiet_isolation(monkeypatch: pytest.MonkeyPatch) -> None:
    warnings.simplefilter("ignore")


def test_a_new_worker_gets_the_setup_and_the_loss_is_named() -> None:
    with Sandbox(SandboxConfig(timeout=5)) as sb:
        sb.set_variable("context", "abc", setup=True)
        sb.run("def twice(x):\n    return 2 * x", setup=True)
        sb.run("total = twice(21)\nnotes = ['a']")
        crashed = sb.run(CRASHES["exit"])
        assert crashed.restarted and not crashed.ok
        assert "setup is run again" in (crashed.error or "") and "total, notes" in (crashed.error or "")
        after = sb.run("print(context, twice(2), 'total' in dir())")
        assert after.ok and after.stdout == "abc 4 False\n" and not after.restarted


def test_a_snapshot_keeps_values_and_definitions_by_reference() -> None:
    with Sandbox(SandboxConfig(timeout=5)) as sb:
        sb.set_variable("context", "abc", setup=True)
        cell = "import math\nclass Box:\n    def __init__(self, v):\n        self.v = v\nbox = Box(math.pi)\nlast = [1, 2]\nf = lambda: 1"
        assert sb.run(cell).ok
        snap = sb.snapshot()
        assert snap.error is None and set(snap.kept) == {"Box", "box", "last"} and snap.skipped == ("f",)
        sb.run(CRASHES["exit"])
        sb.run(definitions(cell))  # the class exists again; the values come from the snapshot
        restored = sb.restore(snap.data)
        assert set(restored.kept) == {"Box", "box", "last"} and restored.error is None
        assert sb.run("print(round(box.v, 2), last, context)").stdout == "3.14 [1, 2] abc\n"


@pytest.mark.parametrize("crash", sorted(CRASHES))
def test_the_run_goes_on_after_the_code_crashes_the_worker(crash: str) -> None:
    seen: list[str] = []

    def model(messages: Sequence[Message]) -> str:
        step = turns(messages)
        if step == 0:
            return block("words = context.split()\nprint(len(words))")
        if step == 1:
            return block(CRASHES[crash])
        seen.append(messages[-1].content)
        return block("FINAL(str(len(context.split())) + ' ' + str(callable(llm_query)) + ' ' + repr(tools))")

    sandbox = SandboxConfig(timeout=1, max_output=100_000)
    result = Engine(ScriptedModel(model), budget=Budget(max_steps=10)).run(
        RecursiveCode("one two three", sandbox=sandbox), "How many words?"
    )
    assert result.answer == "3 True (no tools)" and result.stop_reason == "answered"
    assert "setup is run again" in seen[0] and "earlier code defined are lost (words" in seen[0]  # told what went


def session_turn(
    store: RunStore, model: ScriptedModel, question: str, context: str, max_seconds: float | None = None
) -> RunResult:
    session = ReplSession(SessionStore(store), "s")
    engine = Engine(model, budget=Budget(max_steps=10, max_seconds=max_seconds))
    return engine.run(RecursiveCode(context, session=session, sandbox=SandboxConfig(timeout=30)), question)


def test_a_session_whose_cell_crashed_is_rebuilt_without_it(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.db")

    seen: list[str] = []

    def model(messages: Sequence[Message]) -> str:
        task, step = messages[1].content, turns(messages)
        if "first" in task:
            seen.append(messages[-1].content)
            return block(["base = 40", CRASHES["segfault"], "FINAL(str(base))"][step])
        return block("FINAL(base + len(context))")

    first = session_turn(store, ScriptedModel(model), "first question", "x")
    assert first.answer == "40"  # the turn went on with its variables: rebuilt at once, without the crash
    assert "SandboxCrash" in seen[2] and "rebuilt as it was before this block (1 cell(s) replayed)" in seen[2]
    cells = SessionStore(store).cells("s", 0)
    assert [c.status for c in cells] == ["ran", "lost", "ran"]
    for question in ("second question", "third question"):  # every later question works
        later = session_turn(store, ScriptedModel(model), question, "yy")
        assert later.answer == "42"
    store.close()


def test_a_cell_that_crashes_only_on_replay_is_marked_and_skipped(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.db")
    sessions = SessionStore(store)
    sessions.begin("s", 0, "first", "x")
    sessions.add_cell("s", 0, Cell(1, "base = 40", []))
    sessions.add_cell("s", 0, Cell(2, CRASHES["exit"], []))  # as an older store kept it: status "ran"
    sessions.finish("s", 0, "ok", [])
    model = ScriptedModel(lambda messages: block("FINAL(base + len(context))"))
    assert session_turn(store, model, "second", "yy").answer == "42"
    assert [c.status for c in sessions.cells("s", 0)] == ["ran", "lost"]
    store.close()


def test_a_slow_cell_is_not_run_again_its_values_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repl_session, "SLOW_CELL", 0.3)
    store = RunStore(tmp_path / "runs.db")
    slow = "import random, time\ntime.sleep(0.4)\ndraw = random.random()\ndef half(x):\n    return x / 2\nnow = lambda: 1\nprint(draw)"
    drawn: list[str] = []

    def model(messages: Sequence[Message]) -> str:
        task, step = messages[1].content, turns(messages)
        if "first" in task:
            if step == 1:
                drawn.append(messages[-1].content)
            return block([slow, "FINAL('ok')"][step])
        assert "could not be restored" in task and "now" in task  # the lambda could not be kept: said
        return block("FINAL(repr(half(draw * 2)))")

    assert session_turn(store, ScriptedModel(model), "first", "x").answer == "ok"
    cell = SessionStore(store).cells("s", 0)[0]
    assert cell.snapshot is not None and cell.unkept == ("now",) and (cell.seconds or 0) >= 0.3
    second = session_turn(store, ScriptedModel(model), "second", "y")
    assert second.answer is not None and second.answer in drawn[0]  # the same draw
    step = next(s for s in second.steps if s.kind == "session")
    assert step.data["unkept"] == ["now"]
    store.close()


def test_a_rebuild_keeps_to_the_runs_time_limit(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.db")
    sessions = SessionStore(store)
    sessions.begin("s", 0, "first", "x")
    sessions.add_cell("s", 0, Cell(1, "import time\nwhile True:\n    time.sleep(0.05)", []))  # an old row: no seconds
    sessions.finish("s", 0, "ok", [])
    model = ScriptedModel(lambda messages: block("FINAL('too late')"))
    result = session_turn(store, model, "second", "y", max_seconds=1.0)
    assert result.answer is None and result.stop_reason == "budget"
    assert model.calls == []  # the time ran out while the REPL was rebuilt
    store.close()


def test_an_older_cell_that_proves_slow_on_replay_keeps_its_values_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repl_session, "SLOW_CELL", 0.3)
    store = RunStore(tmp_path / "runs.db")
    sessions = SessionStore(store)
    sessions.begin("s", 0, "first", "x")
    sessions.add_cell("s", 0, Cell(1, "import time\ntime.sleep(0.4)\nbase = 40", []))  # no seconds: an old row
    sessions.finish("s", 0, "ok", [])
    model = ScriptedModel(lambda messages: block("FINAL(base + len(context))"))
    assert session_turn(store, model, "second", "yy").answer == "42"
    kept = sessions.cells("s", 0)[0]
    assert kept.snapshot is not None and (kept.seconds or 0) >= 0.3  # the next rebuild binds the values
    assert session_turn(store, model, "third", "yy").answer == "42"
    store.close()
