"""Recursive code mode: the REPL round trip of llm_query through the engine, FINAL, depth and budget."""

from __future__ import annotations

from ponder.strategies.recursive_code import code_blocks


def test_code_blocks_are_parsed() -> None:
    assert code_blocks("a\n```python\nx = 1\n```\nb\n```\ny = 2\n```") == ["x = 1\n", "y = 2\n"]
    assert code_blocks("no code here") == []
