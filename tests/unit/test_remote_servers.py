"""Remote models that behave like the embedded one: server kinds, constraints, tool choice, windows.

Small loopback fakes (``servers.FakeChatServer`` with the routes and error replies of each
server kind) stand for vLLM, Ollama and llama.cpp's ``llama-server``; the tests assert the
request bodies the backend sends. llama-cpp-python's real server is in test_openai_compat.py."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from ponder import Engine, PromptTooLong, RunSpec, ScriptedModel
from ponder.cli import main
from ponder.strategies import React
from ponder.tools import tool
from ponder.types import Message


def test_server_kind_and_window_are_part_of_the_run_spec(capsys) -> None:
    args = ["ask", "q", "--model", "openai:m", "--server-kind", "vllm", "--context-window", "4096", "--dry-run"]
    assert main([*args, "--json"]) == 0
    spec = json.loads(capsys.readouterr().out)
    assert spec["models"]["root"] == {"model": "openai:m", "server_kind": "vllm", "context_window": 4096}
    assert RunSpec.from_dict(spec).model().server_kind == "vllm"
    assert main(["ask", "q", "--server-kind", "vllm"]) == 1
    assert "--server-kind applies to openai:MODEL models" in capsys.readouterr().err


@tool
def dump(what: str) -> str:
    """Dump a lot of text.

    Args:
        what: anything
    """
    return "lorem " * 150


def test_react_turns_an_overlong_prompt_into_an_observation() -> None:
    def script(messages: Sequence[Message]) -> str:
        if any("too long to show" in m.content for m in messages):
            return "Final Answer: done"
        return "Action: dump\nAction Input: all"

    model = ScriptedModel(script, context_window=250)
    result = Engine(model).run(React(tools=[dump], examples_per_tool=0, max_observation=5000), "Dump it")
    assert result.answer == "done"
    # the second observation makes the prompt outgrow the window: it is replaced by the note
    assert [s.kind for s in result.steps] == ["action", "tool", "action", "tool", "too_long", "action"]
    sent = model.calls[-1].messages
    assert sent[-3].content.startswith("Observation: lorem")  # the first observation stays
    seen = sent[-1].content
    assert seen.startswith("Observation: [prompt of") and "exceeds the context window of 250" in seen


def test_react_ends_with_the_error_when_the_question_itself_is_too_long() -> None:
    model = ScriptedModel(lambda messages: "Final Answer: x", context_window=20)
    with pytest.raises(PromptTooLong):
        Engine(model).run(React(tools=[dump], examples_per_tool=0), "word " * 40)


def test_single_makes_an_overlong_prompt_a_clear_error(capsys) -> None:
    from ponder import Single

    with pytest.raises(PromptTooLong, match="exceeds the context window of 5"):
        Engine(ScriptedModel(["x"], context_window=5)).run(Single(), "one two three four five six")
