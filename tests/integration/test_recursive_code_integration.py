"""Recursive code mode: the REPL round trip of llm_query through the engine, FINAL, depth and budget.

These tests start a process, a server or a real model; the others are in tests/unit/test_recursive_code.py."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from ponder import Budget, Engine, ScriptedModel
from ponder.strategies.recursive_code import RecursiveCode
from ponder.types import Message

CONTEXT = "\n".join(f"record {i}: colour={'red' if i % 3 == 0 else 'blue'}" for i in range(90))


def root(*blocks: str) -> list[str]:
    return [f"Let me look.\n```python\n{b}\n```" for b in blocks]


@pytest.mark.integration
def test_llm_query_round_trip_goes_through_the_engine() -> None:
    def model(messages: Sequence[Message]) -> str:
        last = messages[-1].content
        if messages[0].role == "system" and "REPL" in messages[0].content:
            if "Output:" not in last:
                return root("print(len(context)); print(context[:40])")[0]
            if "record 0" in last and "SUB:" not in last:
                return root(
                    "parts = [context[i:i+600] for i in range(0, len(context), 600)]\n"
                    "answers = llm_query_batched(['count red in: ' + p for p in parts])\n"
                    "print('SUB:', answers)\n"
                    "FINAL(sum(int(a) for a in answers))"
                )[0]
            return "I am lost"
        return str(last.count("colour=red"))  # the sub-model counts exactly

    scripted = ScriptedModel(model)
    result = Engine(scripted, budget=Budget(max_steps=30)).run(RecursiveCode(CONTEXT), "How many red records?")
    assert result.answer == "30" and result.stop_reason == "answered"
    kinds = [s.kind for s in result.steps]
    assert kinds.count("code") == 2 and "sub_query" in kinds and kinds.count("repl") == 2
    root_prompt = scripted.calls[0].messages
    assert CONTEXT not in root_prompt[1].content  # the root sees metadata and a preview only
    assert str(len(CONTEXT)) in root_prompt[1].content
    second = scripted.calls[1].messages[-1].content
    assert second.startswith("Output:") and str(len(CONTEXT)) in second


@pytest.mark.integration
def test_text_saying_final_does_not_end_the_run() -> None:
    replies = ["FINAL(42)", "The answer is 42. FINAL", *root("FINAL(str(6 * 7))")]
    result = Engine(ScriptedModel(replies), budget=Budget(max_steps=5)).run(RecursiveCode("abc"), "q?")
    assert result.answer == "42"
    assert [s.kind for s in result.steps].count("code") == 3


@pytest.mark.integration
def test_errors_in_code_go_back_to_the_model() -> None:
    replies = [*root("1 / 0"), *root("FINAL('done')")]
    scripted = ScriptedModel(replies)
    result = Engine(scripted, budget=Budget(max_steps=5)).run(RecursiveCode("abc"), "q?")
    assert result.answer == "done"
    assert "ZeroDivisionError" in scripted.calls[1].messages[-1].content


@pytest.mark.integration
def test_rlm_query_runs_a_child_and_becomes_a_plain_call_at_the_depth_limit() -> None:
    def model(messages: Sequence[Message]) -> str:
        if messages[0].role == "user":  # a plain sub-call
            return "plain: " + messages[0].content.splitlines()[0]
        task = messages[1].content
        if "Output:" in messages[-1].content:
            return root("FINAL(out)")[0]
        if "sub question" in task:  # the child run
            return root("out = rlm_query('deeper', context[:2])")[0]
        return root("out = rlm_query('sub question', context[:10])\nprint(out)")[0]

    result = Engine(ScriptedModel(model), budget=Budget(max_steps=20, max_depth=1)).run(
        RecursiveCode(CONTEXT), "top question"
    )
    # the child's own rlm_query hit the depth limit: one plain sub-call with the prompt and the context
    assert result.answer == "plain: deeper"
    plain = [s for s in result.steps if s.kind == "sub_query"]
    assert len(plain) == 1 and plain[0].depth == 1 and plain[0].data.get("depth_limit") is True
    assert any(s.depth == 1 and s.kind == "code" for s in result.steps)


@pytest.mark.integration
def test_rlm_query_at_the_depth_limit_refuses_a_context_too_long_for_one_call() -> None:
    def model(messages: Sequence[Message]) -> str:
        if "Output:" in messages[-1].content:
            return root("FINAL(out)")[0]
        return root("try:\n    out = rlm_query('q', context)\nexcept Exception as e:\n    out = str(e)")[0]

    result = Engine(ScriptedModel(model), budget=Budget(max_steps=20, max_depth=0)).run(
        RecursiveCode(CONTEXT, chunk_chars=100), "top question"
    )
    assert result.answer is not None and "depth limit" in result.answer and "slice it" in result.answer


@pytest.mark.integration
def test_budget_exhausted_inside_a_child_stops_the_parent() -> None:
    def model(messages: Sequence[Message]) -> str:
        if messages[0].role == "user":
            return "sub answer"
        if "sub question" in messages[1].content:
            return root("x = llm_query('a'); y = llm_query('b'); FINAL(x + y)")[0]
        return root("print(rlm_query('sub question', 'tiny'))")[0]

    result = Engine(ScriptedModel(model), budget=Budget(max_steps=3)).run(RecursiveCode(CONTEXT), "q?")
    assert result.stop_reason == "max_steps"
    assert result.answer is None
