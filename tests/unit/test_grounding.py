"""Grounded tool inputs: the calculator takes only the run's numbers, and react's answer keeps them."""

from __future__ import annotations

import random
import re

import pytest

from gbnf import admits
from ponder import Budget, Engine, ScriptedModel
from ponder.datasets import HELDOUT, TUNE, direct, word_problems
from ponder.strategies import React
from ponder.strategies import react_format as fmt
from ponder.tools import calculator_tool
from ponder.tools.grounding import MAX_STATES, Material, NumberGrounding, grounded_text, numbers_in


def expression_grammar(*texts: str) -> str:
    rule = NumberGrounding().rule(Material(list(texts)), "g-")
    assert rule is not None
    return "\n".join([f"root ::= {rule.body}", *rule.defs])


def test_numbers_are_read_as_written_and_in_words():
    text = "A shop had 1,200 apples and sold 3.5 kg, 20% of them, for $5 twice a dozen times; 007 left."
    assert numbers_in(text) == ["1200", "3.5", "20", "5", "7", "2", "12", "100"]
    assert numbers_in("x = -42 and 5 - 3 and 5-3", signed=True) == ["-42", "5", "3", "5", "3"]
    assert numbers_in("no numbers here") == []


def test_an_expression_uses_each_number_as_often_as_the_material_gives_it():
    grammar = expression_grammar("Calculate 472 + 532.")
    for good in ("472 + 532", "532 - 472", "472", "(472 + 532)", "472 * 532", "(532 - 472)"):
        assert admits(grammar, good), good
    for bad in ("472 + 532 + 472", "472 + 523", "472+532", "472 + 532 + 1", "5", "(472", "472 + 532\n\n"):
        assert not admits(grammar, bad), bad
    twice = expression_grammar("Tom has 40 apples and Ann has 40 pears.", "Observation: 80")
    assert admits(twice, "40 + 40") and admits(twice, "80 - 40 - 40") and not admits(twice, "40 + 40 + 40")


def test_a_material_with_many_numbers_falls_back_to_free_use():
    text = " ".join(str(100 + i) for i in range(12))  # 2**12 states: more than MAX_STATES
    assert MAX_STATES < 2**12
    grammar = expression_grammar(text)
    assert admits(grammar, "100 + 100 + 111 * (105 - 100)")
    assert not admits(grammar, "100 + 99")


def test_random_expressions_of_the_material_are_admitted_and_others_are_not():
    rng = random.Random(5)
    for _ in range(60):
        values = [str(rng.randint(10, 999)) for _ in range(rng.randint(2, 4))]
        grammar = expression_grammar("What is " + " + ".join(values) + "?")
        order = rng.sample(values, k=len(values))
        expression = order[0] + "".join(f" {rng.choice('+-*/')} {v}" for v in order[1:])
        assert admits(grammar, expression), (values, expression)
        foreign = str(int(values[0]) + 1000)
        assert not admits(grammar, expression + f" + {foreign}")


def test_the_check_refuses_foreign_and_repeated_numbers():
    material = Material(["What is 347 + 589 - 212?"])
    grounding = NumberGrounding()
    assert grounding.check("347 + 589 - 212", material) is None
    assert "598" in (grounding.check("347 + 598 - 212", material) or "")
    assert "more often" in (grounding.check("347 + 589 - 212 + 589", material) or "")
    material.add("724")
    assert grounding.check("724 * 2", material) is not None
    assert grounding.check("724 - 347", material) is None


def test_the_answer_after_a_tool_keeps_the_observed_number_and_its_sign():
    material = Material(["What is 970 - 741 * 790?"])
    before = "\n".join(["root ::= " + grounded_text(material, "f-").body, *grounded_text(material, "f-").defs])
    assert admits(before, "970") and admits(before, "Paris, well-known")
    material.add("-584420")
    rule = grounded_text(material, "f-")
    grammar = "\n".join([f"root ::= {rule.body}", *rule.defs])
    assert admits(grammar, "-584420") and admits(grammar, "It is -584420.")
    for bad in ("584420", "970", "-58442", "-5844200", "5"):
        assert not admits(grammar, bad), bad


def test_react_builds_the_grounded_grammar_each_step_and_refuses_ungrounded_inputs():
    model = ScriptedModel(
        [
            "Action: calculator\nAction Input: 347 + 598 - 212",  # miscopied: refused, not called
            "Action: calculator\nAction Input: 347 + 589 - 212",
            "Final Answer: 724",
        ]
    )
    result = Engine(model, budget=Budget(max_steps=8)).run(React(tools=[calculator_tool()]), "What is 347 + 589 - 212?")
    grammars = [call.options.grammar for call in model.calls]
    assert result.answer == "724"
    tools = [e for e in result.events if e.type == "tool_call"]
    assert [e.arguments for e in tools] == ["347 + 589 - 212"]
    refused = [e for e in result.events if e.type == "step" and e.kind == "ungrounded"]
    assert len(refused) == 1 and "598" in refused[0].text
    first, _, last = grammars
    assert first is not None and last is not None
    assert admits(first, "Action: calculator\nAction Input: 347 + 589 - 212")
    assert not admits(first, "Action: calculator\nAction Input: 347 + 598 - 212")
    assert not admits(first, "Final Answer: 724")  # not a number of the question, and nothing computed it
    assert admits(last, "Final Answer: 724") and not admits(last, "Final Answer: 725")


def test_no_ground_keeps_the_character_class_grammar_and_calls_the_tool():
    model = ScriptedModel(["Action: calculator\nAction Input: 347 + 598 - 212", "Final Answer: 733"])
    strategy = React(tools=[calculator_tool()], ground=False)
    result = Engine(model, budget=Budget(max_steps=8)).run(strategy, "What is 347 + 589 - 212?")
    grammars = [call.options.grammar for call in model.calls]
    assert result.answer == "733"
    assert [e.arguments for e in result.events if e.type == "tool_call"] == ["347 + 598 - 212"]
    assert grammars[0] == fmt.grammar([("calculator", calculator_tool().input_grammar, False)])


def test_native_calls_are_checked_too():
    from ponder.types import Completion, ToolCall

    model = ScriptedModel(
        [
            Completion("", tool_calls=(ToolCall("c1", "calculator", '{"expression": "347 + 598"}'),)),
            Completion("", tool_calls=(ToolCall("c2", "calculator", '{"expression": "347 + 589"}'),)),
            Completion("", tool_calls=(ToolCall("c3", "final_answer", '{"answer": "936"}'),)),
        ],
        supports_tools=True,
    )
    result = Engine(model, budget=Budget(max_steps=8)).run(React(tools=[calculator_tool()], native=True), "347 + 589?")
    assert result.answer == "936"
    assert [e.arguments for e in result.events if e.type == "tool_call"] == [{"expression": "347 + 589"}]


@pytest.mark.parametrize("seed", [TUNE, HELDOUT])
def test_generated_problems_have_exact_answers(seed):
    items = direct(30, seed) + word_problems(24, seed)
    assert len({i["id"] for i in items}) == len(items)
    assert direct(30, seed) == direct(30, seed)  # deterministic
    for item in items:
        numbers = [int(n) for n in numbers_in(item["question"]) if n.isdigit()]
        assert numbers, item
        if item["kind"] == "direct":
            expression = re.search(r"\d[\d +*-]*\d", item["question"]).group()
            assert eval(expression) == item["answer"], item  # digits and + - * only
            assert 2 <= len(numbers) <= 4
        else:
            assert item["answer"] >= 0
    kinds = {i["kind"] for i in word_problems(24, seed)}
    assert len(kinds) == 8  # every pair of operations
    assert direct(10, TUNE) != direct(10, HELDOUT)
