"""``ponder runs export --format chat``: the ``messages`` JSONL trainers read, filtered by outcome and eval score,
loaded with Hugging Face ``datasets`` as a trainer would.

These tests start a process, a server or a real model; the others are in tests/unit/test_export_chat.py."""

from __future__ import annotations

import pytest

from export_chat_helpers import record_of
from ponder import Budget, Engine, ScriptedModel
from ponder.store import RunStore
from ponder.strategies.recursive_code import RecursiveCode


@pytest.mark.integration
def test_code_mode_is_the_root_models_trajectory_with_repl_outputs_as_user_turns(tmp_path):
    replies = [
        "Let me look.\n```python\nprint(len(context))\n```",
        "```python\nFINAL(str(len(context) * 2))\n```",
    ]
    store = RunStore(tmp_path / "runs.db")
    engine = Engine(ScriptedModel(replies), budget=Budget(max_steps=6), sinks=[store.sink()])
    result = engine.run(RecursiveCode("abcdefghij"), "How long is it, doubled?")
    assert result.answer == "20"
    record = record_of(store, result.run_id)
    assert record is not None
    messages = record["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]
    assert "REPL" in messages[0]["content"]
    assert "How long is it, doubled?" in messages[1]["content"]
    assert messages[2]["content"] == replies[0]
    assert messages[3]["content"].startswith("Output:") and "10" in messages[3]["content"]
    assert messages[4]["content"] == replies[1]
    assert record_of(store, result.run_id, reasoning="none") == record  # a trajectory has no think block
