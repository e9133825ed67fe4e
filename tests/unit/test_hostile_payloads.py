"""Malformed model input to tools and to the REPL's host calls: always an observation, never a crash.

Property style, with seeded loops: random nested JSON (deep, wide, odd types) and random strings
(brackets, quotes, escapes, unicode) go through every built-in tool (``invoke`` and
``invoke_text``), a tool with a nested schema, native tool-call argument parsing, and every host
function of recursive code mode; nothing may raise. The listed examples of issue 12 run as
real code-mode runs in the sandbox."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from hostile_payloads_helpers import deep, random_json, random_text
from ponder.guards.payload import PayloadError, check_json, loads
from ponder.sandbox import HostCallRejected
from ponder.sandbox.exchange import serve_call
from ponder.sandbox.protocol import HEADER, HostChannel, ProtocolError
from ponder.strategies.react import _arguments
from ponder.strategies.recursive_repl import Bridge, check_call
from ponder.tools import Tool, ToolResult, calculator_tool, file_tools, http_get_tool, tool


@pytest.fixture
def every_tool(tmp_path: Path) -> list[Tool]:
    (tmp_path / "a.txt").write_text("alpha beta\n")

    @tool
    def nested(items: list[dict[str, list[int]]], label: str = "") -> str:
        """A tool with a nested schema.

        Args:
            items: a list of objects of integer lists
            label: a name
        """
        return f"{len(items)} {label}"

    http = http_get_tool(["127.0.0.1:9"], timeout=2)  # the discard port: refused at once, nothing leaves
    return [calculator_tool(), *file_tools(tmp_path), http, nested]


def test_calculator_with_1000_nested_brackets_is_an_observation() -> None:
    calc = calculator_tool()
    for text in (
        "(" * 1000 + "1" + ")" * 1000,
        "[" * 1000 + "]" * 1000,
        '{"expression": ' + "[" * 1000 + "]" * 1000 + "}",
    ):
        result = calc.invoke_text(text)
        assert not result.ok and result.error
    result = calc.invoke({"expression": deep(1000)})
    assert result.error == "the argument object is nested too deeply (more than 32 levels)"
    assert calc.invoke({"expression": "(" * 150 + "2" + ")" * 150}).output == "2"  # deep but legal: computed


def test_random_json_and_text_through_every_tool(every_tool: list[Tool]) -> None:
    rng = random.Random(1212)
    for _ in range(300):
        for item in every_tool:
            args = random_json(rng)
            result = item.invoke(args if rng.random() < 0.8 else {"expression": args, "path": args})
            assert isinstance(result, ToolResult)
            assert result.ok or result.error
            text = random_text(rng)
            result = item.invoke_text(text)
            assert isinstance(result, ToolResult) and (result.ok or result.error)


def test_native_argument_text_never_raises() -> None:
    rng = random.Random(3)
    for _ in range(500):
        raw = random_text(rng)
        value = _arguments(raw)
        assert isinstance(value, str | dict)
    assert _arguments("[" * 5000 + "]" * 5000) == "[" * 5000 + "]" * 5000  # handed to the tool as text


def test_bounded_json_checks() -> None:
    check_json(deep(32))
    for bad, message in (
        (deep(33), "nested too deeply"),
        (deep(100_000, "dict"), "nested too deeply"),
        ([0] * 100_001, "too big"),
        ({1: 2}, "key that is not a string"),
        ([float("nan")], "not finite"),
        ({"x": object()}, "not JSON data"),
    ):
        with pytest.raises(PayloadError, match=message):
            check_json(bad)
    check_json({"x": object(), 1: 2}, plain=False)  # a Python caller's values: only depth and size count
    with pytest.raises(PayloadError, match="nested too deeply"):
        loads("[" * 100_000 + "]" * 100_000)
    with pytest.raises(PayloadError, match="not a JSON number"):
        loads("[NaN]")
    with pytest.raises(ValueError):
        loads("{oops")


def test_every_host_function_checks_its_payload() -> None:
    rng = random.Random(99)
    for _ in range(2000):
        name = rng.choice(["llm_query", "rlm_query", "answer", "nope", ""])
        payload = random_json(rng)
        if rng.random() < 0.3:
            payload = {"prompts": payload, "prompt": payload, "context": payload}
        try:
            checked = check_call(name, payload)
        except HostCallRejected as exc:
            assert str(exc)
            continue
        if name == "llm_query":
            assert all(isinstance(p, str) for p in checked["prompts"])
        elif name == "rlm_query":
            assert isinstance(checked["prompt"], str)
        else:
            assert name == "answer" and isinstance(checked, str)


def test_sandbox_host_call_replies_to_any_payload() -> None:
    """The host side of ``host_call``: every payload gets a reply frame (a result or an error), never an exception."""
    bridge = Bridge()
    bridge.stopped = False

    def handler(name: str, payload: object) -> str:
        return check_call(name, payload) and "ok"

    rng = random.Random(5)
    for _ in range(500):
        message = {
            "op": "call",
            "name": rng.choice(["answer", "llm_query", 5, None, "x" * 500]),
            "payload": random_json(rng),
        }
        frame = serve_call(handler, message)
        reply = json.loads(frame[HEADER.size :])
        assert reply["op"] == "reply" and ("error" in reply or "result" in reply)


def test_a_frame_nested_too_deeply_is_a_protocol_error() -> None:
    read, write = os.pipe()
    other_read, other_write = os.pipe()
    body = ("[" * 100_000 + "]" * 100_000).encode()
    channel = HostChannel(other_write, read)
    os.write(write, HEADER.pack(len(body)))
    with os.fdopen(write, "wb") as pipe:
        import threading

        feeder = threading.Thread(target=lambda: (pipe.write(body), pipe.flush()))
        feeder.start()
        with pytest.raises(ProtocolError, match="nested too deeply"):
            import time

            channel.receive(time.monotonic() + 30)
        feeder.join()
    for fd in (read, other_read, other_write):
        os.close(fd)
