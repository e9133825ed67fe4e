"""Integration tests on the real embedded model (SmolLM2-135M through llama-cpp-python)."""

from __future__ import annotations

import json

import pytest

from ponder import Budget, Engine, GenerationOptions, ModelCallError, Refine, Single, load_model
from ponder.cli import main
from ponder.models import smollm2_path
from ponder.types import assistant, system, user

pytestmark = pytest.mark.integration

QUESTION = "What were the primary causes of the fall of the Western Roman Empire?"
SYS = "You are a careful assistant. Answer accurately and concisely."


@pytest.fixture(scope="module")
def smol():
    return load_model("smollm2")


def test_answers_a_simple_fact(smol):
    result = Engine(smol, options=GenerationOptions(max_tokens=48)).run(Single(), "What is the capital of France?")
    assert "Paris" in result.answer
    assert result.usage.prompt_tokens > 10
    assert result.usage.completion_tokens > 0
    assert result.steps[0].usage.model_calls == 1


def test_deterministic_at_temperature_zero(smol):
    options = GenerationOptions(max_tokens=40, temperature=0.0, seed=7)
    msgs = [system(SYS), user("Name three colours.")]
    first = smol.complete(msgs, options).text
    smol.complete([system(SYS), user("Something else entirely.")], options)
    assert smol.complete(msgs, options).text == first


def test_streaming_pieces_join_to_the_text(smol):
    pieces: list[str] = []
    completion = smol.complete([system(SYS), user("Say hello.")], GenerationOptions(max_tokens=16), pieces.append)
    assert len(pieces) >= 2
    assert "".join(pieces) == completion.text


def test_max_tokens_gives_length_finish(smol):
    completion = smol.complete([system(SYS), user(QUESTION)], GenerationOptions(max_tokens=5))
    assert completion.finish_reason == "length"
    assert completion.usage.completion_tokens <= 6


def test_rendering_is_byte_stable_as_history_grows(smol):
    short = [system(SYS), user("q")]
    longer = [*short, assistant("a draft"), user("critique it")]
    generation_prompt = "<|im_start|>assistant\n"
    assert smol.render(short).endswith(generation_prompt)
    assert smol.render(longer).startswith(smol.render(short)[: -len(generation_prompt)])


def test_prefix_reuse_evaluates_only_new_tokens(smol):
    options = GenerationOptions(max_tokens=24)
    first_msgs = [system(SYS), user(QUESTION)]
    first = smol.complete(first_msgs, options)
    follow = [*first_msgs, assistant(first.text), user("Shorter, please.")]
    second = smol.complete(follow, options)
    assert second.usage.prompt_tokens > first.usage.prompt_tokens
    # only the draft's tail, the new user turn and the template tokens around it are evaluated
    assert second.usage.prompt_tokens_evaluated < second.usage.prompt_tokens - first.usage.prompt_tokens + 12
    assert second.usage.prompt_tokens_evaluated >= smol.count_tokens("Shorter, please.")


def test_prefix_cache_can_be_disabled():
    model = load_model("smollm2", prefix_cache=False)
    msgs = [system(SYS), user("Hi")]
    model.complete(msgs, GenerationOptions(max_tokens=4))
    again = model.complete(msgs, GenerationOptions(max_tokens=4))
    assert again.usage.prompt_tokens_evaluated == again.usage.prompt_tokens


def test_prompt_larger_than_the_window_is_a_clear_error(smol):
    huge = "word " * (smol.context_window + 100)
    with pytest.raises(ModelCallError, match="context window"):
        smol.complete([user(huge)], GenerationOptions(max_tokens=4))


def test_gguf_path_spec_loads_the_same_file():
    model = load_model(f"gguf:{smollm2_path()}")
    assert model.name.startswith("gguf:")
    assert model.context_window == 8192
    assert model.complete([user("Hi")], GenerationOptions(max_tokens=4)).usage.model_calls == 1


def test_refine_reuses_prefix_across_passes(smol):
    result = Engine(smol, budget=Budget(max_steps=6), options=GenerationOptions(max_tokens=160)).run(
        Refine(same_ratio=1.01), QUESTION
    )
    calls = [s for s in result.steps if s.usage is not None]
    assert [s.kind for s in calls][:3] == ["draft", "critique", "revision"]
    assert len(calls) == 6
    assert result.stop_reason == "max_steps"
    assert result.usage.prompt_tokens_evaluated * 2 <= result.usage.prompt_tokens


def test_cli_refine_json_on_the_embedded_model(capsys):
    code = main(["ask", QUESTION, "--strategy", "refine", "--json", "--max-tokens", "160"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert data["model"] == "smollm2"
    assert data["strategy"] == "refine"
    assert len([s for s in data["steps"] if "usage" in s]) >= 2
    assert data["answer"]
    assert data["stop_reason"] in {"converged", "max_steps", "loop"}
    assert data["usage"]["prompt_tokens_evaluated"] < data["usage"]["prompt_tokens"]


def test_react_grounds_the_calculator_on_the_embedded_model(smol):
    """The grounded grammars are valid for llama.cpp, and they hold the model to the question's numbers:
    each used once (it would repeat a term) and the computed sign kept in the answer (it would drop it)."""
    from ponder.strategies import React
    from ponder.tools import calculator_tool

    for question, gold in (("Calculate 472 + 532.", "1004"), ("What is the value of 970 - 741 * 790?", "-584420")):
        result = Engine(smol, budget=Budget(max_steps=6)).run(React(tools=[calculator_tool()]), question)
        inputs = [e.arguments for e in result.events if e.type == "tool_call"]
        assert result.answer == gold, (question, inputs, result.answer)
