"""Malformed model input to tools and to the REPL's host calls: always an observation, never a crash.

Property style, with seeded loops: random nested JSON (deep, wide, odd types) and random strings
(brackets, quotes, escapes, unicode) go through every built-in tool (``invoke`` and
``invoke_text``), a tool with a nested schema, native tool-call argument parsing, and every host
function of recursive code mode; nothing may raise. The listed examples of issue 12 run as
real code-mode runs in the sandbox.
"""

from __future__ import annotations

import json
import os
import random
import string
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from layout import SUPPORT
from ponder import Budget, Engine, ScriptedModel
from ponder.guards.payload import PayloadError, check_json, loads
from ponder.sandbox import HostCallRejected, Sandbox, SandboxConfig
from ponder.sandbox.exchange import serve_call
from ponder.sandbox.protocol import HEADER, HostChannel, ProtocolError
from ponder.strategies.react import _arguments
from ponder.strategies.recursive_code import RecursiveCode
from ponder.strategies.recursive_repl import Bridge, check_call
from ponder.tools import Tool, ToolResult, calculator_tool, file_tools, http_get_tool, tool
from ponder.types import Message

ALPHABET = string.printable + "[]{}()\"'\\,:" * 5 + "éß中\u202e\x00\x1b"


def deep(depth: int, kind: str = "list") -> Any:
    """A value nested ``depth`` levels, built with a loop (no recursion here either)."""
    value: Any = 1
    for _ in range(depth):
        value = [value] if kind == "list" else {"k": value}
    return value


def random_json(rng: random.Random, budget: int = 40) -> Any:
    """A random JSON-ish value: sometimes very deep, sometimes wide, with odd leaves."""
    roll = rng.random()
    if roll < 0.1:
        return deep(rng.choice([5, 33, 100, 1200, 5000]), rng.choice(["list", "dict"]))
    if roll < 0.4 or budget <= 0:
        return rng.choice(
            [None, True, 0, -1, 10**30, 1.5, "", "x", "1+2", "((1))", "[" * 50, "\x00", "a" * 200, "NaN", "../etc"]
        )
    if roll < 0.7:
        return [random_json(rng, budget // 3) for _ in range(rng.randint(0, 4))]
    keys = ["expression", "path", "query", "k", "start_line", "max_lines", "url", "code", "items", "x", ""]
    return {rng.choice(keys): random_json(rng, budget // 3) for _ in range(rng.randint(0, 4))}


def random_text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.2:
        n = rng.choice([10, 999, 1000, 3000, 20_000])
        return rng.choice(["(", "[", "{", '{"expression":' + "["]) * n + rng.choice(["", "1", ")" * n, "]" * n])
    if roll < 0.5:
        try:
            return json.dumps(random_json(rng), default=str)[:60_000]
        except RecursionError:  # the generator made something too deep for json.dumps: use its text
            return "[" * 5000 + "]" * 5000
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 300)))


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


@pytest.mark.integration
def test_python_tool_takes_random_input(tmp_path: Path) -> None:
    from ponder.tools import python_tool

    rng = random.Random(7)
    with Sandbox(SandboxConfig(timeout=5)) as sandbox:
        python = python_tool(sandbox)
        for _ in range(25):
            assert isinstance(python.invoke(random_json(rng)), ToolResult)
            assert isinstance(python.invoke_text(random_text(rng)), ToolResult)


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


def _code_model(first_block: str):
    def model(messages: Sequence[Message]) -> str:
        if messages[0].role == "user":
            return "sub answer"
        if "Output:" in messages[-1].content:
            return "```python\nFINAL('done')\n```"
        return f"```python\n{first_block}\n```"

    return model


@pytest.mark.integration
@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ('rlm_query("q", {"a": 1})', "context must be a str or a list of str, got a dict with keys ['a']"),
        ('host_call("llm_query", "oops")', "llm_query: the payload must be {'prompts': [str, ...]}, got str"),
        ('host_call("answer", [1, 2])', "the answer must be text or a number, got a list of 2 items"),
        ("x = [1]\nfor _ in range(500): x = [x]\nhost_call('llm_query', x)", "nested too deeply (more than 32 levels)"),
        ('host_call("shell", "ls")', "unknown host function 'shell'"),
        ("llm_query_batched(['p'] * 300)", "at most 256 prompts per call, got 300"),
    ],
)
def test_malformed_host_calls_in_code_mode_go_back_to_the_model(code: str, expected: str) -> None:
    scripted = ScriptedModel(_code_model(code))
    result = Engine(scripted, budget=Budget(max_steps=6)).run(RecursiveCode("some context"), "q?")
    assert result.answer == "done" and result.stop_reason == "answered"
    shown = scripted.calls[1].messages[-1].content
    assert "HostCallError" in shown and expected in shown, shown


@pytest.mark.integration
def test_random_input_through_real_mcp_tools() -> None:
    """A real stdio MCP server (tests/support/mcp_server_fixture.py): random arguments stay observations."""
    import sys as _sys

    from ponder.tools import mcp_tools

    fixture = str(SUPPORT / "mcp_server_fixture.py")
    config = {"mcpServers": {"fx": {"command": _sys.executable, "args": [fixture]}}}
    rng = random.Random(21)
    with mcp_tools(config) as tools:
        usable = [t for t in tools if t.name in ("add", "greet")]
        for _ in range(40):
            for item in usable:
                assert isinstance(item.invoke(random_json(rng)), ToolResult)
                assert isinstance(item.invoke_text(random_text(rng)), ToolResult)
        assert {t.name: t for t in usable}["add"].invoke({"a": 2, "b": 3}).output == "5"  # still serving
