"""The python tool: how a sandbox run becomes an observation, and (when present) the real sandbox.

These tests start a process, a server or a real model; the others are in tests/unit/test_tools_python.py."""

from __future__ import annotations

import pytest

from ponder.tools import python_tool


@pytest.mark.integration
def test_with_the_real_sandbox() -> None:
    sandbox_module = pytest.importorskip("ponder.sandbox")
    if not hasattr(sandbox_module, "Sandbox"):
        pytest.skip("ponder.sandbox has no Sandbox yet")
    sandbox = sandbox_module.Sandbox(sandbox_module.SandboxConfig(timeout=5))
    py = python_tool(sandbox, owns_sandbox=True)
    try:
        assert py.invoke_text("x = 6 * 7").ok
        assert py.invoke_text("print(x)").output == "42"  # state persists between calls
        failed = py.invoke_text("1/0")
        assert not failed.ok and failed.error is not None and "ZeroDivisionError" in failed.error
    finally:
        py.close()


@pytest.mark.integration
def test_tools_spec_python_uses_the_default_sandbox() -> None:
    sandbox_module = pytest.importorskip("ponder.sandbox")
    if not hasattr(sandbox_module, "Sandbox"):
        pytest.skip("ponder.sandbox has no Sandbox yet")
    from ponder.tools import close_tools, parse_tool_specs

    tools = parse_tool_specs("python")
    try:
        assert tools[0].invoke_text("print(sum(range(10)))").output == "45"
    finally:
        close_tools(tools)
