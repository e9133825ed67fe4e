"""The memory manager: compaction triggers, keeps the task verbatim, and prompts stay bounded."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import pytest

from ponder import Budget, ConfigError, Engine, ScriptedModel
from ponder.strategies import React
from ponder.strategies.memory import Memory
from ponder.tools import tool
from ponder.types import Message


@tool
def lookup(key: str) -> str:
    """Look up a key in a long table.

    Args:
        key: the key
    """
    return f"value of {key}: " + "lorem ipsum dolor sit amet " * 20


QUESTION = "Find the value of k29 after looking up k0 to k28."


def policy(limit: int):
    """A react policy that looks up keys k0, k1, ... and answers after ``limit`` lookups; summaries are short."""
    state = {"step": 0}

    def reply(messages: Sequence[Message]) -> str:
        if messages[-1].content.startswith("Below are the earlier steps"):
            return f"looked up keys up to k{state['step'] - 1}; all values were lorem ipsum"
        step = state["step"]
        state["step"] += 1
        if step >= limit:
            return "Final Answer: lorem"
        return f"Action: lookup\nAction Input: k{step}"

    return reply


def run(memory: Memory | None, limit: int = 29) -> tuple[ScriptedModel, object]:
    model = ScriptedModel(policy(limit))
    strategy = React(tools=[lookup], memory=memory, constrained=False, loop_threshold=100)
    result = Engine(model, budget=Budget(max_steps=60)).run(strategy, QUESTION)
    return model, result


def prompt_tokens(model: ScriptedModel) -> list[int]:
    return [sum(model.count_tokens(m.content) for m in c.messages) for c in model.calls]


def test_without_memory_the_prompt_grows_every_step() -> None:
    model, result = run(None)
    sizes = prompt_tokens(model)
    assert result.answer == "lorem"  # type: ignore[attr-defined]
    assert all(b > a for a, b in itertools.pairwise(sizes))
    assert sizes[-1] > 3000


def test_compaction_keeps_prompts_under_the_limit_and_the_task_verbatim() -> None:
    memory = Memory(window=1500, threshold=0.8, keep_last=4)
    model, result = run(memory)
    actions = [c for c in model.calls if not c.messages[-1].content.startswith("Below are the earlier steps")]
    sizes = [sum(model.count_tokens(m.content) for m in c.messages) for c in actions]
    assert result.answer == "lorem"  # type: ignore[attr-defined]
    assert max(sizes) <= memory.limit + 200  # one step of growth past the estimate at most
    compactions = [s for s in result.steps if s.kind == "compact"]  # type: ignore[attr-defined]
    assert 1 <= len(compactions) < 10  # compacted in blocks, not every step
    first = actions[0].messages
    for call in actions:
        # the system prompt, the examples and the task are byte-identical in every prompt
        assert call.messages[: len(first)] == first
        assert call.messages[len(first) - 1].content == f"Question: {QUESTION}"
    last = actions[-1].messages
    notes = [m for m in last if m.content.startswith("Notes on my earlier steps")]
    assert len(notes) == 1 and "looked up keys" in notes[0].content
    roles = [m.role for m in last[len(first) - 1 :]]
    assert all(a != b for a, b in itertools.pairwise(roles))  # user/assistant still alternate


def test_prompts_are_byte_stable_between_compactions() -> None:
    memory = Memory(window=1500, threshold=0.8, keep_last=4)
    model, _ = run(memory)
    actions = [c.messages for c in model.calls if not c.messages[-1].content.startswith("Below are")]
    extended = sum(1 for a, b in itertools.pairwise(actions) if b[: len(a)] == a)
    assert extended >= len(actions) - 10  # most prompts only append to the previous one


def test_notes_mode_needs_no_model_call() -> None:
    memory = Memory(window=1500, threshold=0.8, keep_last=4, mode="notes", note_chars=60)
    model, result = run(memory)
    assert not any(c.messages[-1].content.startswith("Below are") for c in model.calls)
    assert any(s.kind == "compact" for s in result.steps)  # type: ignore[attr-defined]
    assert max(prompt_tokens(model)) <= memory.limit + 200


def test_full_history_stays_in_the_events() -> None:
    _, result = run(Memory(window=1500, keep_last=4))
    tools = [s for s in result.steps if s.kind == "tool"]  # type: ignore[attr-defined]
    assert len(tools) == 29 and "value of k0" in tools[0].text


def test_memory_config_is_validated() -> None:
    with pytest.raises(ConfigError):
        Memory(threshold=1.5)
    with pytest.raises(ConfigError):
        Memory(mode="forget")  # type: ignore[arg-type]


def test_refine_compacts_older_passes_and_keeps_the_question_verbatim() -> None:
    from ponder.strategies import Refine

    counter = itertools.count()

    def reply(messages: Sequence[Message]) -> str:
        n = next(counter)
        if messages[-1].content.startswith("Below are the earlier steps"):
            return "earlier drafts covered causes one to three"
        return f"pass {n}: " + " ".join(f"point{n}x{i}" for i in range(50))  # every pass differs

    question = "Why did the Western Roman Empire fall?"
    model = ScriptedModel(reply)
    memory = Memory(window=400, threshold=0.75, keep_last=2, mode="summary")
    result = Engine(model, budget=Budget(max_steps=20)).run(Refine(max_rounds=4, memory=memory), question)
    kinds = [s.kind for s in result.steps]
    assert "compact" in kinds
    main_calls = [c for c in model.calls if not c.messages[-1].content.startswith("Below are the earlier steps")]
    for call in main_calls:
        assert call.messages[1].content == question  # the task is never compacted
        assert call.messages[0].role == "system"
    sizes = [sum(model.count_tokens(m.content) for m in c.messages) for c in main_calls]
    # without memory the ninth call would carry eight long replies (~800 tokens); with it, the prompt stays bounded
    assert max(sizes[4:]) < 450
    assert result.usage.model_calls == len(model.calls)


def test_cli_memory_flag_applies_to_refine_and_is_refused_elsewhere(capsys) -> None:
    import json

    from ponder.cli import main

    code = main(
        ["ask", "why?", "-m", "scripted", "-s", "refine", "--memory", "notes", "--memory-threshold", "0.001", "--json"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "compact" in [s["kind"] for s in json.loads(out)["steps"]]
    code = main(["ask", "why?", "-m", "scripted", "--memory", "notes"])
    err = capsys.readouterr().err
    assert code != 0
    assert "--memory does not apply to single" in err
