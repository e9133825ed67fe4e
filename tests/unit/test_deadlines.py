"""Hard deadlines: no tool and no model call can hold a run past its limits (issue 12, class 3).

The HTTP cases use a real slow-drip server on 127.0.0.1 (a tiny socket server started and
stopped by the test) that sends one header line, or one body byte, every 0.2 s and never
finishes: a per-read timeout never fires against it. The stuck model and the stuck tool block
on an event the test sets at the end, so nothing is left running. No timing is asserted: the
run returning at all, with its stop reason and its stored record, is what is checked."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from ponder import Budget, Engine, ScriptedModel
from ponder.engine.budget import Cancellation
from ponder.engine.deadline import Overdue, call_with_deadline
from ponder.store import RunStore
from ponder.strategies import React, Single
from ponder.strategies.consistency import Consistency
from ponder.tools import tool
from ponder.types import Message


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at the end of the test: whatever a stuck fake was blocked on returns, so no thread lingers."""
    event = threading.Event()
    yield event
    event.set()


def test_a_stuck_tool_is_abandoned_after_its_timeout_and_the_run_goes_on(release: threading.Event) -> None:
    @tool(timeout=0.3)
    def wait_forever(x: str) -> str:
        """Blocks until the test ends.

        Args:
            x: anything
        """
        release.wait()
        return "finally"

    model = ScriptedModel(["Action: wait_forever\nAction Input: go", "Final Answer: gave up waiting"])
    result = Engine(model).run(React(tools=[wait_forever]), "q?")
    assert result.answer == "gave up waiting" and result.stop_reason == "answered"
    observation = model.calls[1].messages[-1].content
    assert observation == (
        "Observation: Error: the tool did not finish within 0.3 s and was abandoned; try something smaller"
    )


def _stuck(release: threading.Event, answer: str = "late") -> ScriptedModel:
    def reply(messages: Sequence[Message]) -> str:
        release.wait()
        return answer

    return ScriptedModel(reply)


def test_max_seconds_stops_a_stuck_model_call(tmp_path: Path, release: threading.Event) -> None:
    with RunStore(tmp_path / "runs.db") as store:
        engine = Engine(_stuck(release), budget=Budget(max_seconds=0.5), sinks=[store.sink()])
        result = engine.run(Single(), "q?")
        stored = store.run(result.run_id)
    assert (result.stop_reason, result.answer) == ("budget", None)
    assert result.detail == "time limit of 0.5s reached during a model call"
    assert stored["stop_reason"] == "budget"


def test_max_seconds_stops_a_batch_with_one_stuck_call_and_keeps_the_others(release: threading.Event) -> None:
    calls = {"n": 0}
    lock = threading.Lock()

    def reply(messages: Sequence[Message]) -> str:
        with lock:
            calls["n"] += 1
            n = calls["n"]
        if n == 2:
            release.wait()
        return "42"

    result = Engine(ScriptedModel(reply), budget=Budget(max_seconds=1.0)).run(Consistency(samples=3), "q?")
    assert result.stop_reason == "budget"
    assert result.detail is not None and result.detail.startswith("time limit of 1s reached during a batch")
    kept = [s.text for s in result.steps if s.text == "42"]
    assert len(kept) == calls["n"] - 1 >= 1  # every call of the wave but the stuck one finished, and is kept


def test_cancellation_stops_a_stuck_model_call(release: threading.Event) -> None:
    cancel = Cancellation()
    timer = threading.Timer(0.3, cancel.cancel, args=("the client went away",))
    timer.start()
    try:
        result = Engine(_stuck(release)).run(Single(), "q?", cancellation=cancel)
    finally:
        timer.cancel()
    assert (result.stop_reason, result.detail) == ("cancelled", "the client went away")


def test_call_with_deadline_passes_results_and_errors() -> None:
    assert call_with_deadline(lambda: 5, 10) == 5
    assert call_with_deadline(lambda: 6, None) == 6
    with pytest.raises(ZeroDivisionError):
        call_with_deadline(lambda: 1 / 0, 10)
    gate = threading.Event()
    with pytest.raises(Overdue):
        call_with_deadline(gate.wait, 0.05)
    gate.set()
