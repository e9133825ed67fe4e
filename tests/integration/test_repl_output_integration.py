"""What the root model sees of a block: head and tail of long output, the line that raised.

These tests start a process, a server or a real model; the others are in tests/unit/test_repl_output.py."""

from __future__ import annotations

import pytest

from ponder.sandbox import Sandbox, SandboxConfig
from ponder.strategies.repl_output import observation


@pytest.mark.integration
def test_errors_show_the_line_of_the_block_that_raised() -> None:
    with Sandbox(SandboxConfig(timeout=10)) as sandbox:
        sandbox.run("def helper(x):\n    return x['missing']")
        result = sandbox.run("print('before')\ndata = {}\nhelper(data)")
        shown = observation(result, 2000)
        assert shown.startswith("before\n")
        assert "Error at line 3: helper(data)" in shown and "KeyError: 'missing'" in shown
        assert "inside helper()" in shown
        syntax = sandbox.run("x = 1\ny = (\n")
        assert "Error at line 2" in observation(syntax, 2000) and "SyntaxError" in observation(syntax, 2000)
