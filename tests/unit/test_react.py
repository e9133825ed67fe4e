"""ReAct with scripted models: protocol, tool calls through the engine, errors, loops, native calls."""

from __future__ import annotations

import pytest

from ponder import Budget, Completion, ConfigError, Engine, ScriptedModel
from ponder.strategies import React
from ponder.strategies.react_format import Action, Final, Malformed, grammar, parse
from ponder.tools import calculator_tool, tool
from ponder.types import ToolCall


@tool
def lookup(key: str) -> str:
    """Look a key up.

    Args:
        key: the key
    """
    return {"alpha": "1", "beta": "2"}.get(key, "unknown")


def run(replies, tools=None, budget=None, **kw):
    model = ScriptedModel(replies)
    strategy = React(tools=tools or [calculator_tool()], **kw)
    return model, Engine(model, budget=budget or Budget(max_steps=10)).run(strategy, "What is 12*34+5?")


def test_parse_variants():
    assert parse("Action: calculator\nAction Input: 1 + 2") == Action("calculator", "1 + 2")
    assert parse("Thought: add\nAction: calculator\nAction Input: 3*4\nObservation: 99") == Action(
        "calculator", "3*4", "add"
    )
    assert parse("Thought: it  is\n the sum\nFinal Answer: 7") == Final("7", "it is the sum")
    assert parse("Final Answer: 42") == Final("42")
    assert parse("Action: finish\nAction Input: 42") == Final("42")
    assert parse("Action: python\nAction Input: x = 1\nprint(x)") == Action("python", "x = 1\nprint(x)")
    assert isinstance(parse("I think it is 42."), Malformed)
    assert isinstance(parse("Action: calculator"), Malformed)
    assert isinstance(parse("Final Answer:   "), Malformed)


def test_calculator_round_trip_gives_explicit_answer():
    model, result = run(["Action: calculator\nAction Input: 12*34+5", "Final Answer: 413"])
    assert result.answer == "413"
    assert result.stop_reason == "answered"
    kinds = [s.kind for s in result.steps]
    assert kinds == ["action", "tool", "action"]
    tool_step = result.steps[1]
    assert tool_step.text == "413"
    assert tool_step.data == {"tool": "calculator", "arguments": "12*34+5", "ok": True}
    # the observation was shown to the model, in canonical form
    second_prompt = model.calls[1].messages
    assert second_prompt[-1].content == "Observation: 413"
    assert second_prompt[-2].content == "Action: calculator\nAction Input: 12*34+5"


def test_prompt_has_tool_listing_examples_and_grammar():
    model, _ = run(["Final Answer: 1"])
    call = model.calls[0]
    assert "calculator(expression: string)" in call.messages[0].content
    assert any(m.content.startswith("Question: Sara had 52 stickers") for m in call.messages)
    assert call.messages[-1].content == "Question: What is 12*34+5?"
    assert call.options.grammar is not None and '"Action: calculator' in call.options.grammar
    assert "Observation:" in call.options.stop


def test_unconstrained_sends_no_grammar():
    model, _ = run(["Final Answer: 1"], constrained=False)
    assert model.calls[0].options.grammar is None


def test_tool_error_goes_back_as_observation_and_run_continues():
    model, result = run(
        ["Action: calculator\nAction Input: 12 x 34", "Action: calculator\nAction Input: 12*34", "Final Answer: 408"]
    )
    assert result.answer == "408"
    assert result.steps[1].data["ok"] is False
    assert model.calls[1].messages[-1].content.startswith("Observation: Error:")


def test_malformed_steps_are_observations_then_bounded():
    model, result = run(["blah", "Final Answer: 7"])
    assert result.answer == "7"
    assert model.calls[1].messages[-1].content.startswith("Observation: Invalid format")
    _, result = run(["blah", "more blah", "still blah"], max_format_errors=3)
    assert result.stop_reason == "error"
    assert result.answer is None
    assert "3 malformed steps" in result.detail


def test_unknown_tool_is_a_format_error():
    model, result = run(["Action: weather\nAction Input: Paris", "Final Answer: sunny"])
    assert result.answer == "sunny"
    assert "calculator" in model.calls[1].messages[-1].content
    assert result.steps[1].kind == "format_error"


def test_repeated_action_is_a_loop():
    step = "Action: calculator\nAction Input: 1+1"
    _, result = run([step, step, step, "Final Answer: 2"], loop_threshold=3)
    assert result.stop_reason == "loop"
    assert result.answer is None
    assert "repeated 3 times" in result.detail


def test_cycling_observations_are_a_loop():
    # every input differs, but the observations go 2, 3, 2, 3, 2, 3
    exprs = ["1+1", "1+2", "2*1", "6/2", "4-2", "9/3"]
    steps = [f"Action: calculator\nAction Input: {e}" for e in exprs]
    _, result = run(steps, loop_threshold=3, ground=False)  # numbers the question does not hold
    assert result.stop_reason == "loop"
    assert "cycle with period 2" in result.detail


def test_progress_is_not_a_loop():
    steps = [f"Action: calculator\nAction Input: {i}+1" for i in range(6)] + ["Final Answer: 6"]
    _, result = run(steps, loop_threshold=3)
    assert result.stop_reason == "answered"


def test_budget_ends_without_guessing():
    step = "Action: calculator\nAction Input: 1+{}"
    replies = [step.format(i) for i in range(20)]
    _, result = run(replies, budget=Budget(max_steps=3))
    assert result.stop_reason == "max_steps"
    assert result.answer is None


def test_needs_tools():
    with pytest.raises(ConfigError):
        React(tools=[])


def test_native_tool_calls():
    replies = [
        Completion("", tool_calls=(ToolCall("c1", "lookup", '{"key": "beta"}'),)),
        Completion("", tool_calls=(ToolCall("c2", "final_answer", '{"answer": "2"}'),)),
    ]
    model = ScriptedModel(replies, supports_tools=True)
    result = Engine(model).run(React(tools=[lookup], native=True), "beta?")
    assert result.answer == "2"
    assert {t["function"]["name"] for t in model.calls[0].tools} == {"lookup", "final_answer"}
    second = model.calls[1].messages
    assert second[-1].role == "tool" and second[-1].content == "2" and second[-1].tool_call_id == "c1"
    assert second[-2].tool_calls[0].name == "lookup"


def test_native_text_reply_is_a_format_error():
    replies = ["The answer is 2.", Completion("", tool_calls=(ToolCall("c", "final_answer", '{"answer": "2"}'),))]
    model = ScriptedModel(replies, supports_tools=True)
    result = Engine(model).run(React(tools=[lookup], native=True), "beta?")
    assert result.answer == "2"
    assert [s.kind for s in result.steps] == ["action", "format_error", "action"]


def test_grammar_lists_every_tool_and_final():
    g = grammar([("calculator", "[0-9+*/ -]{1,50}", False), ("python", None, True)])
    assert "root ::= a0 | a1 | final" in g
    assert '"Action: calculator\\nAction Input: " [0-9+*/ -]{1,50}' in g
    assert 'final ::= "Final Answer: "' in g


def test_native_tool_calls_are_compacted_with_each_result_after_its_call():
    from ponder.strategies.memory import Memory

    @tool
    def page(n: int) -> str:
        """Read a page of a long book.

        Args:
            n: the page number
        """
        return f"page {n}: " + " ".join(f"w{n}x{i}" for i in range(40))

    step = {"n": 0}

    def reply(messages):
        step["n"] += 1
        if step["n"] > 12:
            return Completion("", tool_calls=(ToolCall("f", "final_answer", '{"answer": "done"}'),))
        return Completion("", tool_calls=(ToolCall(f"c{step['n']}", "page", f'{{"n": {step["n"]}}}'),))

    model = ScriptedModel(reply, supports_tools=True)
    memory = Memory(window=400, threshold=0.75, keep_last=2, mode="notes")
    result = Engine(model, budget=Budget(max_steps=40)).run(React(tools=[page], native=True, memory=memory), "read")
    assert result.answer == "done"
    assert "compact" in [s.kind for s in result.steps]
    for call in model.calls:
        messages = call.messages
        assert messages[1].content == "read"  # the task stays verbatim
        for i, m in enumerate(messages):  # every tool result follows the assistant call that asked for it
            if m.role == "tool":
                j = i - 1
                while messages[j].role == "tool":
                    j -= 1
                assert messages[j].role == "assistant" and m.tool_call_id in {c.id for c in messages[j].tool_calls}
    assert max(sum(model.count_tokens(m.content) for m in c.messages) for c in model.calls) < 450


def test_a_python_example_is_a_program_of_several_lines():
    """The python tool's first example writes a program with named values (program of thought): an example
    block's Action Input may span lines, and the turns keep them."""
    from ponder.strategies.react_format import examples as example_turns

    turns = example_turns(["python"])
    first = turns[1].content
    assert first.startswith("Action: python\nAction Input: ") and first.count("\n") >= 3 and "print(" in first
    assert turns[2].content.startswith("Observation: ") and turns[3].content.startswith("Final Answer: ")
    assert len(turns) % 4 == 0 and all(t.content.startswith("Question: ") for t in turns[::4])


def test_think_asks_for_a_thought_first_and_keeps_it_in_the_history():
    model, result = run(
        [
            "Thought: multiply, then add 5\nAction: calculator\nAction Input: 12*34+5",
            "Thought: the calculator says so\nFinal Answer: 413",
        ],
        think=True,
    )
    assert result.answer == "413"
    first, second = model.calls
    assert "Thought: <one line" in first.messages[0].content
    # the examples show their thoughts; the grammar requires one line of thought before every step
    assert any(m.content.startswith("Thought: She had 52, got 19") for m in first.messages)
    assert first.options.grammar.startswith('root ::= "Thought: "')
    assert second.messages[-2].content == "Thought: multiply, then add 5\nAction: calculator\nAction Input: 12*34+5"


def test_without_think_the_prompt_and_history_have_no_thoughts():
    model, result = run(["Thought: multiply\nAction: calculator\nAction Input: 12*34+5", "Final Answer: 413"])
    assert result.answer == "413"
    first, second = model.calls
    assert not any("Thought" in m.content for m in first.messages)
    assert "Thought" not in first.options.grammar
    assert second.messages[-2].content == "Action: calculator\nAction Input: 12*34+5"


def test_a_think_grammar_takes_a_thought_and_a_step_only():
    from llama_cpp import LlamaGrammar

    text = grammar([("calculator", None, False), ("python", None, True)], think=True)
    LlamaGrammar.from_string(text, verbose=False)  # llama.cpp parses it
    assert text.splitlines()[0] == 'root ::= "Thought: " [^\\n ] [^\\n]* "\\n" (a0 | a1 | final)'
