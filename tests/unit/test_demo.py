"""``ponder demo``: the side-by-side show ends with its table."""

from __future__ import annotations

import pytest

from ponder.cli import main
from ponder.datasets.haystack import BYTES_PER_TOKEN, write_haystack


def test_the_haystack_holds_the_needle_once_at_its_depth(tmp_path):
    needle = "The secret code for the blue vault is 481730."
    stack = write_haystack(tmp_path / "h.txt", 20_000, needle, depth=0.62)
    text = (tmp_path / "h.txt").read_text()
    assert text.count("481730") == 1 and text.index(needle) == stack.offset
    assert abs(stack.depth - 0.62) < 0.02
    assert abs(len(text) / BYTES_PER_TOKEN - 20_000) < 500
    with pytest.raises(ValueError):
        write_haystack(tmp_path / "x.txt", 100, needle, depth=1.5)


def test_demo_says_when_the_code_model_is_not_there(capsys):
    assert main(["demo", "-m", "scripted", "--tokens", "8192", "--code-model", "nosuchmodel"]) == 0
    out = capsys.readouterr().out
    assert "not run: unknown model 'nosuchmodel'" in out and "(not run)" in out
    assert "4. A function" not in out  # part 4 needs the code model too


def test_the_table_shows_the_answer_itself_not_the_tail_of_a_long_reply():
    from ponder.cli.demo import _brief

    reply = (
        "After reading the minutes of the council I found that the secret code for the blue vault is 481,730,"
        " mentioned once; the meeting also recorded 27 objections."
    )
    for width in (16, 30, 60):
        shown = _brief(reply, "481730", width)
        assert "481,730" in shown and len(shown) <= width and "objections" not in shown
    wrong = "To solve this problem, add 487 and 356, then subtract 129. The answer is 487 + 356 - 129 = 487. So: 487."
    assert _brief(wrong, "714", 24) == "…6 - 129 = 487. So: 487."  # wrong: the number it settled on
    assert _brief("I could not find it in the minutes of the meeting.", "481730", 20) == "I could not find it…"
    assert _brief("714", "714", 30) == "714"
    assert _brief("x" * 80 + " 714", "714", 20).endswith(" 714")
