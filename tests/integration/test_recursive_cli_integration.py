"""``ponder ask --context``: recursive plan mode from the command line, and mode selection.

These tests start a process, a server or a real model; the others are in tests/unit/test_recursive_cli.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from ponder import Engine, ScriptedModel, get_strategy


@pytest.mark.integration
def test_code_mode_through_get_strategy(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("alpha beta")
    strategy = get_strategy("recursive", context_path=str(tmp_path / "a.txt"), mode="code")
    model = ScriptedModel(["```python\nFINAL(context.upper())\n```"])
    result = Engine(model).run(strategy, "Shout the context.")
    assert result.answer == "ALPHA BETA" and result.stop_reason == "answered"
