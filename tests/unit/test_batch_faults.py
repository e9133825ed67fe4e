"""Durable batches and isolated failures: each call is recorded as it completes; one failing call is its own result."""

from __future__ import annotations

import re

import pytest

import ponder
from ponder import Engine, ScriptedModel, strategies
from ponder.errors import ModelCallError


def failing_on(seeds: set[int], reply: str = "The answer is 42."):
    class Model(ScriptedModel):
        def complete(self, messages, options, on_text=None, tools=None):
            if options.seed in seeds:
                raise ModelCallError("the server answered 500 three times")
            return super().complete(messages, options, on_text, tools)

    return Model(lambda messages: reply)


def test_one_failing_sample_is_dropped_and_the_others_vote():
    model = failing_on({2})
    result = Engine(model).run(strategies.Consistency(samples=4, adaptive=False), "What is 6 * 7?")
    assert result.answer == "The answer is 42." and result.stop_reason == "answered"
    assert "1 sample(s) failed (model errors) and were dropped: [2]" in result.detail
    calls = [e for e in result.events if e.type == "model_call"]
    assert len(calls) == 4
    [bad] = [e for e in calls if e.finish_reason == "error"]  # type: ignore[attr-defined]
    assert bad.data["error"] == "the server answered 500 three times" and bad.position == 2  # type: ignore[attr-defined]
    assert [s.data["sample"] for s in result.steps if s.kind == "sample"] == [0, 1, 2, 3]  # steps in request order


def test_a_whole_batch_failing_is_a_clear_stop():
    with pytest.raises(ModelCallError):
        Engine(failing_on({0, 1, 2})).run(strategies.Consistency(samples=3, adaptive=False), "q")


def test_a_chunk_whose_map_call_failed_is_reported_unread():
    filler = " ".join(f"Day {i}: the caravan rested." for i in range(400))
    document = filler + " The vault code is 7312. " + filler.replace("Day", "Night")

    class Model(ScriptedModel):
        def complete(self, messages, options, on_text=None, tools=None):
            if "Day 5:" in messages[-1].content:
                raise ModelCallError("timeout")
            return super().complete(messages, options, on_text, tools)

    reader = Model(lambda m: "7312" if "7312" in m[-1].content else "NONE")
    question = "What is the vault code the caravan kept?"  # "caravan" is in every chunk: many are read
    result = Engine(reader, budget=ponder.Budget(max_steps=None)).run(
        strategies.Recursive(context=document, top_k=12), question
    )
    assert result.answer == "7312"
    assert "could not be read (model errors)" in result.detail


def test_records_whose_check_failed_widen_the_counts_bounds(tmp_path):
    lines = [f"order {i}: {'refunded' if i % 3 == 0 else 'shipped'}" for i in range(12)]
    path = tmp_path / "orders.log"
    path.write_text("\n".join(lines) + "\n")

    class Model(ScriptedModel):
        def complete(self, messages, options, on_text=None, tools=None):
            if "order 4:" in messages[-1].content:
                raise ModelCallError("timeout")
            return super().complete(messages, options, on_text, tools)

    model = Model(lambda m: "yes" if re.search(r"order \d+: refunded", m[-1].content) else "no")
    strategy = strategies.Recursive(context_path=str(path), aggregate="count")
    result = Engine(model, budget=ponder.Budget(max_steps=None)).run(strategy, "How many orders were refunded?")
    assert "between 4 and 5" in result.answer and "1 record(s) could not be checked" in result.detail
