"""Recursive plan mode with a scripted model: split → filter → map → ground → reduce."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ponder import Budget, Engine, ScriptedModel, get_strategy
from ponder.strategies import Recursive
from ponder.types import Message

FILLER = "The harbour was quiet that morning and the boats rocked gently. " * 400
NEEDLE = "The secret code for vintrel is 482913."
QUESTION = "What is the secret code for vintrel?"


def reader(messages: Sequence[Message]) -> str:
    """A perfect reader: answers from the passage when it holds a code, NONE otherwise."""
    m = re.search(r"secret code for \w+ is \d+\.", messages[-1].content)
    return m.group(0) if m else "NONE"


def test_finds_the_needle_reading_only_the_filtered_chunks() -> None:
    model = ScriptedModel(reader)
    text = FILLER[:9000] + NEEDLE + " " + FILLER[9000:]
    result = Engine(model).run(Recursive(context=text), QUESTION)
    assert result.answer is not None and "482913" in result.answer
    kinds = [s.kind for s in result.steps]
    assert kinds[:2] == ["split", "filter"] and "map" in kinds and "ground" in kinds
    split_step = result.steps[0]
    assert split_step.data["chunks"] > 10
    assert len(model.calls) <= 4  # only the top chunks were read
    assert all(NEEDLE in c.messages[-1].content or "vintrel" in c.messages[-1].content for c in model.calls)


def test_made_up_answers_are_discarded_by_grounding() -> None:
    def liar(messages: Sequence[Message]) -> str:
        found = reader(messages)
        return found if found != "NONE" else "The secret code for vintrel is 111111."

    text = FILLER[:4992] + " vintrel " + FILLER[4992:12000] + NEEDLE + " " + FILLER[12000:]
    result = Engine(ScriptedModel(liar)).run(Recursive(context=text), QUESTION)
    assert result.answer is not None and "482913" in result.answer
    ground = next(s for s in result.steps if s.kind == "ground")
    assert any("111111" in d["reply"] for d in ground.data["discarded"])


def test_no_match_falls_back_to_scanning_every_chunk() -> None:
    model = ScriptedModel(lambda m: "NONE")
    result = Engine(model, budget=Budget(max_steps=100)).run(Recursive(context=FILLER), "Who painted zyxqv?")
    flt = result.steps[1]
    assert flt.kind == "filter" and flt.data["fallback"] is True
    assert len(model.calls) == flt.data["of"]
    assert result.answer is None and result.stop_reason == "converged"


def test_budget_ends_the_scan_with_the_best_answer_so_far() -> None:
    model = ScriptedModel(reader)
    text = NEEDLE + " " + FILLER
    result = Engine(model, budget=Budget(max_steps=3)).run(Recursive(context=text, top_k=50), "what code vintrel?")
    assert result.stop_reason in ("max_steps", "answered")
    assert result.answer is not None and "482913" in result.answer


def test_conflicting_notes_are_reduced_by_a_model_call() -> None:
    def responder(messages: Sequence[Message]) -> str:
        content = messages[-1].content
        if content.startswith("Notes taken"):
            return "482913"
        return reader(messages)

    other = " The secret code for vintrel is 777777. "
    text = FILLER[:3000] + other + " " + FILLER[3000:15000] + NEEDLE + " " + FILLER[15000:]
    model = ScriptedModel(responder)
    result = Engine(model).run(Recursive(context=text), QUESTION)
    reduce_steps = [s for s in result.steps if s.kind == "reduce"]
    assert reduce_steps and result.answer == "482913"
    assert "777777" in model.calls[-1].messages[-1].content  # both notes went to the reduce call


def test_a_reduced_answer_that_the_notes_do_not_support_is_replaced() -> None:
    def responder(messages: Sequence[Message]) -> str:
        return "999999" if messages[-1].content.startswith("Notes taken") else reader(messages)

    other = " The secret code for vintrel is 777777. "
    text = FILLER[:3000] + other + " " + FILLER[3000:15000] + NEEDLE + " " + FILLER[15000:]
    result = Engine(ScriptedModel(responder)).run(Recursive(context=text), QUESTION)
    assert result.answer is not None and ("482913" in result.answer or "777777" in result.answer)


def test_context_path_and_get_strategy(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text(FILLER[:4000] + NEEDLE + " " + FILLER[4000:8000])
    strategy = get_strategy("recursive", context_path=str(tmp_path), mode="plan")
    result = Engine(ScriptedModel(reader)).run(strategy, QUESTION)
    assert result.answer is not None and "482913" in result.answer
