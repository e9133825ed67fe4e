"""Hard deadlines: no tool and no model call can hold a run past its limits (issue 12, class 3).

The HTTP cases use a real slow-drip server on 127.0.0.1 (a tiny socket server started and
stopped by the test) that sends one header line, or one body byte, every 0.2 s and never
finishes: a per-read timeout never fires against it. The stuck model and the stuck tool block
on an event the test sets at the end, so nothing is left running. No timing is asserted: the
run returning at all, with its stop reason and its stored record, is what is checked.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from ponder import Budget, Engine, ScriptedModel
from ponder.engine.budget import Cancellation
from ponder.engine.deadline import Overdue, call_with_deadline
from ponder.store import RunStore
from ponder.strategies import React, Single
from ponder.strategies.consistency import Consistency
from ponder.tools import http_get_tool, tool
from ponder.types import Message
from servers import FakeChatServer


class DripServer:
    """Accepts connections and drips: ``mode="headers"`` a header line, ``"body"`` a body byte, every 0.2 s."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> DripServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n")
                if self.mode == "body":
                    conn.sendall(b"Content-Length: 100000\r\n\r\n")
                n = 0
                while not self.stop.wait(0.2):
                    n += 1
                    conn.sendall(b"x" if self.mode == "body" else f"X-Drip-{n}: 1\r\n".encode())
            except OSError:  # the client hung up: what the deadline does
                return


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at the end of the test: whatever a stuck fake was blocked on returns, so no thread lingers."""
    event = threading.Event()
    yield event
    event.set()


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["headers", "body"])
def test_http_get_has_a_deadline_for_the_whole_fetch(mode: str) -> None:
    with DripServer(mode) as server:
        fetch = http_get_tool([f"127.0.0.1:{server.port}"], timeout=1)
        result = fetch.invoke({"url": f"http://127.0.0.1:{server.port}/slow"})
        fetch.close()
    assert not result.ok
    assert result.error is not None and "timed out" in result.error


@pytest.mark.integration
def test_max_seconds_stops_a_run_stuck_in_a_tool_and_the_run_is_stored(tmp_path: Path) -> None:
    with DripServer("headers") as server:
        url = f"http://127.0.0.1:{server.port}/slow"
        fetch = http_get_tool([f"127.0.0.1:{server.port}"], timeout=3600)  # its own deadline will not save us
        model = ScriptedModel([f"Action: http_get\nAction Input: {url}", "Final Answer: never reached"])
        with RunStore(tmp_path / "runs.db") as store:
            engine = Engine(model, budget=Budget(max_seconds=1.0), sinks=[store.sink()])
            result = engine.run(React(tools=[fetch]), "What does the page say?")
            stored = store.run(result.run_id)
        fetch.close()
    assert result.stop_reason == "budget"
    assert result.detail == "time limit of 1s reached during a call to the tool http_get"
    assert stored["stop_reason"] == "budget"
    assert len(model.calls) == 1  # the run ended inside the tool call, not after it


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


@pytest.mark.integration
def test_cli_max_seconds_ends_a_run_whose_server_never_answers(tmp_path: Path) -> None:
    """``ponder ask --max-seconds`` against a chat server that holds every request for a minute."""
    db = tmp_path / "runs.db"
    with FakeChatServer(delay=60) as server:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "ponder", "ask", "--model", "openai:fake", "--base-url", server.url,
             "--max-seconds", "1", "--store", str(db), "--json", "what is slow?"],
            capture_output=True, text=True, timeout=50, env={"PATH": "/usr/bin:/bin", "OPENAI_API_KEY": "x",
             "PYTHONPATH": ":".join(sys.path)},
        )  # fmt: skip
        waited = time.monotonic() - started
    out = json.loads(done.stdout)
    assert out["stop_reason"] == "budget", done.stderr
    assert waited < 50  # the subprocess timeout above would have raised first; kept for the reader
    with RunStore(db) as store:
        assert store.run(out["run_id"])["stop_reason"] == "budget"


@pytest.mark.integration
def test_max_seconds_stops_recursive_code_while_the_repl_code_runs() -> None:
    from ponder.sandbox import SandboxConfig
    from ponder.strategies.recursive_code import RecursiveCode

    replies = ["```python\nimport time\nkept = 1\ntime.sleep(50)\n```", "```python\nFINAL('never')\n```"]
    model = ScriptedModel(replies)
    strategy = RecursiveCode("some context", sandbox=SandboxConfig(timeout=60))
    result = Engine(model, budget=Budget(max_seconds=2.0)).run(strategy, "q?")
    assert result.stop_reason == "budget" and result.answer is None
    assert result.detail == "time limit of 2s reached during the strategy's own work"
    assert len(model.calls) == 1  # stopped inside the first block's 50 s sleep


@pytest.mark.integration
def test_a_run_stopped_inside_the_python_tool_does_not_wait_for_the_code() -> None:
    from ponder.sandbox import Sandbox, SandboxConfig
    from ponder.tools import python_tool

    sandbox = Sandbox(SandboxConfig(timeout=120))
    python = python_tool(sandbox, owns_sandbox=True)
    model = ScriptedModel(["Action: python\nAction Input: import time\ntime.sleep(100)", "Final Answer: no"])
    result = Engine(model, budget=Budget(max_seconds=2.0)).run(React(tools=[python]), "q?")
    assert result.stop_reason == "budget"
    assert result.detail == "time limit of 2s reached during a call to the tool python"
    python.close()  # aborts the call still running on the abandoned thread instead of waiting 100 s
    with pytest.raises(Exception, match="closed"):
        sandbox.run("1")
