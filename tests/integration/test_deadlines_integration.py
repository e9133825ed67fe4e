"""Hard deadlines: no tool and no model call can hold a run past its limits (issue 12, class 3).

These tests start a process, a server or a real model; the others are in tests/unit/test_deadlines.py."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ponder import Budget, Engine, ScriptedModel
from ponder.store import RunStore
from ponder.strategies import React
from ponder.tools import http_get_tool
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
