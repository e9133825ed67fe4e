"""Malformed model input to tools and to the REPL's host calls: always an observation, never a crash.

These tests start a process, a server or a real model; the others are in tests/unit/test_hostile_payloads.py."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from hostile_payloads_helpers import random_json, random_text
from layout import SUPPORT
from ponder import Budget, Engine, ScriptedModel
from ponder.sandbox import Sandbox, SandboxConfig
from ponder.strategies.recursive_code import RecursiveCode
from ponder.tools import ToolResult
from ponder.types import Message


@pytest.mark.integration
def test_python_tool_takes_random_input(tmp_path: Path) -> None:
    from ponder.tools import python_tool

    rng = random.Random(7)
    with Sandbox(SandboxConfig(timeout=5)) as sandbox:
        python = python_tool(sandbox)
        for _ in range(25):
            assert isinstance(python.invoke(random_json(rng)), ToolResult)
            assert isinstance(python.invoke_text(random_text(rng)), ToolResult)


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
