"""MCP: a real stdio server (tests/support/mcp_server_fixture.py) started through a config, called as tools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ponder.errors import ConfigError
from ponder.tools.mcp import load_config


def test_mcp_config_errors(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{nope")
    cases: list[tuple[Any, str]] = [
        (tmp_path / "missing.json", "file not found"),
        (bad_json, "not valid JSON"),
        ({"servers": []}, "expected"),
        ({"mcpServers": {"x": {"args": []}}}, "'command' must be a non-empty string"),
        ({"mcpServers": {"x": {"command": "a", "args": "b"}}}, "'args' must be a list of strings"),
        ({"mcpServers": {"x": {"command": "a", "env": {"K": 1}}}}, "'env' must map names to strings"),
        ({"mcpServers": {"x": {"url": "http://h/mcp"}}}, "only stdio servers"),
    ]
    for source, message in cases:
        with pytest.raises(ConfigError, match=message):
            load_config(source)
    config = {"mcpServers": {"on": {"command": "a", "args": ["b"]}, "off": {"command": "c", "disabled": True}}}
    assert [s.name for s in load_config(config)] == ["on"]
    assert load_config(config)[0].args == ("b",)
