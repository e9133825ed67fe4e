"""MCP: a real stdio server (tests/support/mcp_server_fixture.py) started through a config, called as tools.

These tests start a process, a server or a real model; the others are in tests/unit/test_tools_mcp.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from layout import SUPPORT
from ponder.errors import ConfigError
from ponder.tools import close_tools, mcp_tools, parse_tool_specs

FIXTURE = str(SUPPORT / "mcp_server_fixture.py")


def fixture_config(**env: str) -> dict[str, Any]:
    return {"mcpServers": {"fx": {"command": sys.executable, "args": [FIXTURE], "env": env}}}


@pytest.mark.integration
def test_mcp_round_trip() -> None:
    with mcp_tools(fixture_config(GREETING_SUFFIX="from env")) as tools:
        by_name = {t.name: t for t in tools}
        assert sorted(by_name) == ["add", "crash", "fail", "greet"]
        add = by_name["add"]
        assert add.description == "Add two integers."
        assert add.parameters["required"] == ["a"]
        assert add.signature() == "add(a: integer, b: integer = 0)"
        assert add.invoke({"a": 2, "b": 40}).output == "42"
        assert add.invoke_text("5").output == "5"
        # checked locally against the server's schema before anything is sent
        assert add.invoke({"a": "x"}).error == "argument 'a' must be an integer, got str 'x'"
        assert add.invoke({"a": 1, "z": 2}).error == "unknown argument 'z'; expected: a, b"
        assert by_name["greet"].invoke_text("Ada").output == "Hello, Ada! (from env)"
        failed = by_name["fail"].invoke({"reason": "no luck"})
        assert not failed.ok and failed.error is not None and "no luck" in failed.error
        # a server that dies turns later calls into observations, not exceptions
        assert not by_name["crash"].invoke({}).ok
        after = add.invoke({"a": 1})
        assert not after.ok and after.error is not None and after.error.startswith("MCP server 'fx'")
    assert add.invoke({"a": 1}).ok is False  # closed: still no exception


@pytest.mark.integration
def test_mcp_prefix_and_specs(tmp_path: Path) -> None:
    config = tmp_path / "servers.json"
    config.write_text(json.dumps(fixture_config()))
    tools = parse_tool_specs(f"calculator,mcp:{config}")
    try:
        assert [t.name for t in tools] == ["calculator", "add", "greet", "fail", "crash"]
        assert tools[1].invoke({"a": 3}).output == "3"
    finally:
        close_tools(tools)
    two = {"mcpServers": {"one": fixture_config()["mcpServers"]["fx"], "two": fixture_config()["mcpServers"]["fx"]}}
    with pytest.raises(ConfigError, match="two MCP tools are named 'add'; use prefix=True"):
        mcp_tools(two)
    with mcp_tools(two, prefix=True) as prefixed:
        names = [t.name for t in prefixed]
        assert names[:2] == ["one_add", "one_greet"] and "two_add" in names
        assert prefixed[names.index("two_add")].invoke({"a": 1, "b": 1}).output == "2"


@pytest.mark.integration
def test_mcp_server_that_cannot_start_is_a_config_error() -> None:
    dies = {"mcpServers": {"bad": {"command": sys.executable, "args": ["-c", "import sys; sys.exit('boom at start')"]}}}
    with pytest.raises(ConfigError, match=r"MCP server 'bad' failed to start: .*\(stderr: boom at start\)"):
        mcp_tools(dies)
    with pytest.raises(ConfigError, match="MCP server 'bad' failed to start: FileNotFoundError"):
        mcp_tools({"mcpServers": {"bad": {"command": "/nonexistent/server"}}})
    silent = {"mcpServers": {"slow": {"command": sys.executable, "args": ["-c", "import time; time.sleep(30)"]}}}
    with pytest.raises(ConfigError, match="MCP server 'slow' did not start within 1 s"):
        mcp_tools(silent, start_timeout=1)
