"""What the root model sees of a block: head and tail of long output, the line that raised."""

from __future__ import annotations

from ponder.strategies.repl_output import clip, error_lines


def test_clip_keeps_both_ends_and_says_what_was_cut() -> None:
    text = "\n".join(f"line {i}" for i in range(1000))
    out = clip(text, 300)
    assert out.startswith("line 0\n") and out.endswith("line 999")
    assert "cut from the middle" in out and len(out) < 400
    assert clip("short", 300) == "short"


def test_error_lines_without_a_traceback_is_the_error() -> None:
    assert error_lines("", "TimeoutError: too slow") == "TimeoutError: too slow"
