"""Helpers shared by tests/unit/test_viewer.py and tests/integration/test_viewer_integration.py."""

from __future__ import annotations

import itertools

import pytest

from ponder import Budget, Engine, ScriptedModel, strategies
from ponder.store import RunStore


def tree_reply():
    counter = itertools.count()

    def reply(messages):
        n = next(counter)
        if "sure" in messages[-1].content.lower():
            return "likely"
        return f"1. idea {n}a\n2. idea {n}b"

    return reply


def expected_nodes(events) -> int:
    """Counted from the events directly: runs, distinct thoughts, calls, tool calls, other records."""
    runs = sum(e["type"] == "run_started" for e in events)
    thoughts = {(e["run_id"], e["data"]["node"]) for e in events if e["type"] == "step" and e["kind"] == "node"}
    calls = sum(e["type"] in ("model_call", "tool_call") for e in events)
    records = sum(e["type"] == "step" and e["kind"] != "node" for e in events)
    return runs + len(thoughts) + calls + records


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs.db")


@pytest.fixture
def tree_run(store):
    engine = Engine(ScriptedModel(tree_reply()), budget=Budget(max_steps=30), sinks=[store.sink()])
    result = engine.run(strategies.Tree(task="generic", branch=2, beam=2, depth=2), "Plan a picnic </script><b>x</b>")
    return result.run_id
