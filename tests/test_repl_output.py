"""What the root model sees of a block: head and tail of long output, the line that raised."""

from __future__ import annotations

import pytest

from ponder.sandbox import Sandbox, SandboxConfig
from ponder.strategies.repl_output import clip, error_lines, observation


def test_clip_keeps_both_ends_and_says_what_was_cut() -> None:
    text = "\n".join(f"line {i}" for i in range(1000))
    out = clip(text, 300)
    assert out.startswith("line 0\n") and out.endswith("line 999")
    assert "cut from the middle" in out and len(out) < 400
    assert clip("short", 300) == "short"


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


def test_error_lines_without_a_traceback_is_the_error() -> None:
    assert error_lines("", "TimeoutError: too slow") == "TimeoutError: too slow"
