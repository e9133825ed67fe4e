"""Code mode for small code models: the reply grammar, the helpers, the answer conventions, loops, the last call.

These tests start a process, a server or a real model; the others are in tests/unit/test_code_mode_small.py."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest

from gbnf import admits
from ponder import Budget, Engine, ScriptedModel, prompts
from ponder.spec import StrategySpec
from ponder.spec.build import build_strategy
from ponder.strategies.code_guard import CODE_GRAMMAR, reads_context
from ponder.strategies.code_prompt import final_answer_of
from ponder.strategies.entry import BuildContext
from ponder.strategies.recursive import Recursive
from ponder.strategies.recursive_code import RecursiveCode
from ponder.strategies.repl_helpers import NAMES

FILLER = "The river carried the morning light. " * 40
CONTEXT = FILLER + "The parcel for Lomb weighs 7341 grams. " + FILLER + "Lomb lives in Arden. " + FILLER


def block(code: str) -> str:
    return f"```python\n{code}\n```"


def run(
    replies: Sequence[str], question: str = "q?", context: str = CONTEXT, **options: Any
) -> tuple[Any, ScriptedModel]:
    model = ScriptedModel(list(replies))
    result = Engine(model, budget=Budget(max_steps=60)).run(RecursiveCode(context, **options), question)
    return result, model


# -- the reply grammar ----------------------------------------------------------------------


@pytest.mark.integration
def test_each_root_reply_is_constrained_to_one_python_block() -> None:
    result, model = run([block("print(len(context))"), block("FINAL('done')")])
    assert result.answer == "done"
    assert [c.options.grammar for c in model.calls] == [CODE_GRAMMAR, CODE_GRAMMAR]
    assert admits(CODE_GRAMMAR, "```python\nx = 1\nprint(f'{x}`s')\n```")
    assert not admits(CODE_GRAMMAR, "The answer is 12345.")
    assert not admits(CODE_GRAMMAR, "```python\nx = 1\n```\nand more text")
    assert not admits(CODE_GRAMMAR, "```python\nx = '```'\n```")
    assert admits(CODE_GRAMMAR, "```python\nx = 1\n\nprint(x)\n```")  # one blank line between lines
    assert admits(CODE_GRAMMAR, "```python\nprint(x)```")  # the fence may close the last line
    assert not admits(CODE_GRAMMAR, "```python\nx = 1\n\n\nprint(x)\n```")  # never two: padding runs to the limit
    # a fence mistyped as ``) (seen on the coder model) cannot go on: after two backticks only the third fits
    assert not admits(CODE_GRAMMAR, "```python\nprint(len(hits))\n``)`\nOutput:\n1\n```")


@pytest.mark.integration
def test_the_grammar_can_be_turned_off() -> None:
    _, model = run([block("print(len(context))"), block("FINAL('done')")], constrained=False)
    assert [c.options.grammar for c in model.calls] == [None, None]
    strategy = build_strategy(StrategySpec.parse({"strategy": "recursive", "code_grammar": False}), BuildContext())
    assert isinstance(strategy, Recursive) and strategy.code_grammar is False


# -- helpers ---------------------------------------------------------------------------------


@pytest.mark.integration
def test_grep_returns_snippets_with_offsets_and_prints_them_bounded() -> None:
    code = (
        "hits = grep('lomb', window=20)\n"
        "print(len(hits), hits[0].offset, context[hits[0].offset:hits[0].offset + 4])\n"
        "print(hits)\n"
        "print(len(grep('river')), grep('river', limit=2))\n"
        "print(peek(hits[1].offset, 15))\n"
        "print(grep('weighs (', window=5))\n"
        "print(grep('(7', context='a (7 b', window=1))\n"  # not a valid regex: searched as text
        "print(grep('Arden', context=['no', 'in Arden']))"
    )
    _result, model = run([block(code), block("FINAL('x')")])
    out = model.calls[1].messages[-1].content
    first = CONTEXT.index("Lomb")
    assert f"2 {first} Lomb" in out
    assert f"2 matches:\n[offset {first}] " in out and "Lomb weighs 7341" in out
    assert "120 matches (showing the first 2):" in out
    assert out.count("[offset ") == 2 + 2 + 1  # 'lomb', the two of 'river' shown, '(7'
    assert "[offset 2] (7\n" in out
    assert "Lomb lives in A" in out
    assert "0 matches" in out
    assert "[doc 1 offset 3] in Arden" in out


@pytest.mark.integration
def test_the_prompt_lists_every_helper_with_its_signature_and_the_sub_reading_size() -> None:
    _, model = run([block("print(len(context))"), block("FINAL('x')")], chunk_chars=12345)
    system = model.calls[0].messages[0].content
    for name in NAMES:
        assert re.search(rf"\b{name}\b", system), name
    assert "grep(pattern, context=None, window=100, limit=20)" in system and "peek(start, n=400)" in system
    assert "about 12345 characters" in system
    assert "only what it prints" in system
    assert "Turn 1 of 30" in model.calls[0].messages[1].content and model.calls[0].options.temperature == 0.0
    assert "(turn 1 of 30)" in model.calls[1].messages[-1].content


# -- answers ---------------------------------------------------------------------------------


@pytest.mark.integration
def test_final_var_answers_with_a_variable() -> None:
    result, _ = run([block("n = grep('weighs')[0]\nx = 'seven'"), block("FINAL_VAR('x')")])
    assert result.answer == "seven" and result.stop_reason == "answered"
    result, _ = run([block("print(len(context))"), block("x = '7341'\nFINAL_VAR(x)")])  # a value, not a name
    assert result.answer == "7341"


@pytest.mark.integration
def test_the_answer_dict_convention_ends_the_run() -> None:
    replies = [
        block("answer['content'] = 'draft'\nprint(len(context))"),  # not ready: the run goes on
        block("answer['content'] = '7341'\nanswer['ready'] = True"),
    ]
    result, model = run(replies)
    assert result.answer == "7341" and result.stop_reason == "answered" and len(model.calls) == 2


@pytest.mark.integration
def test_an_answer_before_looking_at_the_context_is_refused_on_the_first_turn() -> None:
    result, model = run([block("FINAL('12345')"), block("print(grep('parcel'))"), block("FINAL('7341')")])
    assert result.answer == "7341" and len(model.calls) == 3
    assert prompts.load("recursive/code_first") in model.calls[1].messages[-1].content
    assert reads_context("h = grep('x')") and not reads_context("FINAL('12345')")
    result, _ = run([block("FINAL(grep('weighs', window=5)[0])")])  # an answer from the context is fine
    assert result.answer == "Lomb weighs 7341"


# -- loops -------------------------------------------------------------------------------------


@pytest.mark.integration
def test_the_same_code_with_the_same_output_is_told_and_then_stops_the_run() -> None:
    same = block("print(grep('parcel'))")
    result, model = run([same] * 4 + ["The parcel weighs 7341 grams."], loop_limit=3, max_iterations=30)
    assert result.stop_reason == "loop" and result.answer == "The parcel weighs 7341 grams."
    assert "3 repeated blocks" in (result.detail or "")
    kinds = [s.kind for s in result.steps]
    assert kinds.count("code") == 4 and kinds.count("loop") == 3 and kinds[-1] == "final_answer"
    assert "This repeats turn 1" in model.calls[2].messages[-1].content
    assert "(the same output as turn 1)" in model.calls[2].messages[-1].content  # not shown again
    assert model.calls[1].options.temperature == 0.0 and model.calls[2].options.temperature == 0.8  # sampled
    assert "This repeats" not in model.calls[1].messages[-2].content


@pytest.mark.integration
def test_code_that_changes_its_output_is_no_loop() -> None:
    step = block("i = globals().get('i', -1) + 1\nprint(peek(i * 10, 10))")
    result, _ = run([step] * 5 + ["7341"], max_iterations=5)
    assert result.stop_reason == "rounds" and "loop" not in [s.kind for s in result.steps]


@pytest.mark.integration
def test_identical_replies_without_code_never_run_to_the_turn_limit() -> None:
    made_up = "The special number is 12345."
    result, _model = run([made_up] * 30 + ["12345"], constrained=False, max_iterations=30)
    assert result.stop_reason == "loop" and len([s for s in result.steps if s.kind == "code"]) == 4
    assert "3 repeated replies" in (result.detail or "")


# -- the last call ---------------------------------------------------------------------------


@pytest.mark.integration
def test_when_the_turns_run_out_one_last_call_asks_for_the_answer() -> None:
    replies = [block("print(grep('parcel'))"), block("print(grep('Lomb'))"), "```python\nFINAL('7341')\n```"]
    result, model = run(replies, max_iterations=2)
    assert result.answer == "7341" and result.stop_reason == "rounds"
    assert "final-answer call" in (result.detail or "")
    last = [s for s in result.steps if s.kind == "final_answer"]
    assert len(last) == 1
    assert "You have no turns left" in model.calls[-1].messages[-1].content
    assert model.calls[-1].options.grammar is None


@pytest.mark.integration
def test_no_last_call_when_turned_off_and_no_answer_from_only_code() -> None:
    result, model = run([block("print(1)"), block("print(2)")], max_iterations=2, final_call=False)
    assert result.answer is None and result.stop_reason == "rounds" and len(model.calls) == 2
    assert final_answer_of("```python\nprint(x)\n```") is None
    assert final_answer_of("It is 7341.") == "It is 7341."
    assert final_answer_of('```python\nFINAL_VAR("ABCDE, FGHIJ")\n```') == "ABCDE, FGHIJ"


# -- the check before an answer stands (confirm) ------------------------------------------------


@pytest.mark.integration
def test_confirm_holds_each_new_answer_back_once_and_names_what_was_never_searched() -> None:
    replies = [
        block("print(grep('parcel'))"),
        block("FINAL('Lomb')"),  # held back: Lomb was never searched for
        block("print(grep('Lomb'))"),
        block("FINAL('Arden')"),  # a new answer: held back too, with both offered as one list
        block("FINAL('Lomb, Arden')"),  # new again: held (the limit is 3)
        block("FINAL('Lomb, Arden')"),  # given again: it stands
    ]
    result, model = run(replies, question="Who and where?", confirm=3)
    assert result.answer == "Lomb, Arden" and result.stop_reason == "answered" and len(model.calls) == 6
    first = model.calls[2].messages[-1].content
    assert "You called FINAL('Lomb')" in first and "Who and where?" in first
    assert "You have not searched for 'Lomb' yet" in first  # an answer given is not a search made
    second = model.calls[4].messages[-1].content
    assert "You have not searched for 'Arden' yet" in second and "'Lomb'" not in second.split("yet")[0]
    assert "give all you found: FINAL('Lomb, Arden')" in second
    assert [s.text for s in result.steps if s.text == "an answer held back for a check"] == [
        "an answer held back for a check"
    ] * 3


@pytest.mark.integration
def test_confirm_ends_when_the_check_repeats_a_search_and_is_off_by_default() -> None:
    replies = [block("print(grep('parcel'))"), block("FINAL('7341')"), block("print(grep('parcel'))")]
    result, model = run(replies, confirm=2)
    assert result.answer == "7341" and result.stop_reason == "answered" and len(model.calls) == 3
    assert "repeated turn 1" in (result.detail or "")
    result, model = run(replies[:2])  # off by default: the first FINAL stands
    assert result.answer == "7341" and len(model.calls) == 2


@pytest.mark.integration
def test_confirm_holds_back_a_ready_answer_dict_too() -> None:
    replies = [
        block("print(len(context))"),
        block("answer['content'] = '7341'\nanswer['ready'] = True"),
        block("print(grep('grams'))"),  # the dict was reset: this turn does not end the run by itself
        block("FINAL('7341')"),
    ]
    result, model = run(replies, confirm=1)
    assert result.answer == "7341" and len(model.calls) == 4
