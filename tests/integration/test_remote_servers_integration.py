"""Remote models that behave like the embedded one: server kinds, constraints, tool choice, windows.

These tests start a process, a server or a real model; the others are in tests/unit/test_remote_servers.py."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import pytest

from ponder import Engine, GenerationOptions, PromptTooLong, RunSpec, ScriptedModel, open_run
from ponder.cli import main
from ponder.models import servers as kinds
from ponder.models.openai_compat import OpenAIModel
from ponder.strategies import React
from ponder.strategies.react_format import grammar
from ponder.strategies.recursive_code import RecursiveCode
from ponder.strategies.recursive_count import YES_NO_GRAMMAR
from ponder.tools import calculator_tool
from ponder.tools.calculator import INPUT_GRAMMAR
from ponder.types import Message, user
from remote_servers_helpers import models_route, vllm
from servers import FakeChatServer

STEP_GRAMMAR = grammar([("calculator", INPUT_GRAMMAR, False)])
ASK = [user("Is 7 prime?")]


def ollama(tools: bool = False, **kw: Any) -> FakeChatServer:
    capabilities = ["completion", "tools"] if tools else ["completion"]
    return FakeChatServer(
        get_routes={"/v1/models": models_route("library"), "/api/version": {"version": "0.6.8"}},
        post_routes={"/api/show": lambda body: {"capabilities": capabilities}},
        **kw,
    )


def llama_server(n_ctx: int = 1024, **kw: Any) -> FakeChatServer:
    return FakeChatServer(
        get_routes={
            "/v1/models": models_route("llamacpp"),
            "/props": {"default_generation_settings": {"n_ctx": n_ctx}},
        },
        post_routes={"/tokenize": lambda body: {"tokens": body["content"].split()}},
        **kw,
    )


def model_of(server: FakeChatServer, **kw: Any) -> OpenAIModel:
    return OpenAIModel("m", base_url=server.url, max_retries=0, **kw)


# -- the probe ---------------------------------------------------------------------


@pytest.mark.integration
def test_vllm_is_probed_once_per_base_url_and_reports_its_window() -> None:
    with vllm(window=2048) as server:
        model = model_of(server)
        assert model.info.kind == "vllm" and model.context_window == 2048
        assert model.supports_grammar and model.preferred_tool_protocol == "native"
        assert server.gets == ["/v1/models", "/version"]
        again = model_of(server)
        assert again.info is model.info and again.context_window == 2048
        assert server.gets == ["/v1/models", "/version"]  # cached in this process


@pytest.mark.integration
def test_llama_server_is_probed_with_its_props() -> None:
    with llama_server(n_ctx=1024) as server:
        model = model_of(server)
        assert model.info.kind == "llamacpp" and model.context_window == 1024
        assert model.preferred_tool_protocol == "text"  # its grammar keeps a small model in the format


@pytest.mark.integration
def test_ollama_is_probed_and_says_whether_its_model_has_tools() -> None:
    with ollama(tools=False) as server:
        assert model_of(server).info.kind == "ollama"
        assert model_of(server).preferred_tool_protocol == "text"
        assert server.other_bodies == [("/api/show", {"model": "m"})]
    kinds.forget()
    with ollama(tools=True) as server:
        assert model_of(server).preferred_tool_protocol == "native"


@pytest.mark.integration
def test_an_unknown_server_is_generic_and_a_configured_window_wins() -> None:
    with FakeChatServer() as server:
        model = model_of(server)
        assert model.info.kind == "generic" and not model.supports_grammar
        assert model.context_window == 8192
        assert model_of(server, context_window=512).context_window == 512


@pytest.mark.integration
def test_a_configured_kind_is_not_probed() -> None:
    with FakeChatServer() as server:
        model = model_of(server, server_kind="vllm")
        assert model.info.kind == "vllm" and server.gets == []


@pytest.mark.integration
def test_the_probe_is_cached_on_disk_when_asked(tmp_path, monkeypatch) -> None:
    cache = tmp_path / "servers.json"
    monkeypatch.setenv("PONDER_PROBE_CACHE", str(cache))
    with vllm() as server:
        model_of(server).info  # noqa: B018 - probes
        kinds.forget()
        assert model_of(server).info.kind == "vllm"
        assert server.gets == ["/v1/models", "/version"]  # the second process-level miss read the file
    assert "vllm" in cache.read_text()


# -- constraints in each dialect ------------------------------------------------------


@pytest.mark.integration
def test_vllm_gets_structured_outputs_choice_and_grammar() -> None:
    with vllm(reply=lambda body: "yes") as server:
        model = model_of(server)
        model.complete(ASK, GenerationOptions(grammar=YES_NO_GRAMMAR))
        model.complete(ASK, GenerationOptions(grammar=STEP_GRAMMAR, stop=("Observation:",)))
        model.complete(ASK, GenerationOptions())
        first, second, plain = server.bodies
        assert first["structured_outputs"] == {"choice": ["yes", "no", "Yes", "No"]}
        assert second["structured_outputs"] == {"grammar": STEP_GRAMMAR}
        assert second["stop"] == ["Observation:"]
        assert "structured_outputs" not in plain and "guided_grammar" not in plain


@pytest.mark.integration
def test_older_vllm_gets_guided_fields() -> None:
    with vllm(version="0.8.5", reply=lambda body: "yes") as server:
        model = model_of(server)
        model.complete(ASK, GenerationOptions(grammar=YES_NO_GRAMMAR))
        model.complete(ASK, GenerationOptions(grammar=STEP_GRAMMAR))
        assert server.bodies[0]["guided_choice"] == ["yes", "no", "Yes", "No"]
        assert server.bodies[1]["guided_grammar"] == STEP_GRAMMAR
        assert "structured_outputs" not in server.bodies[1]


@pytest.mark.integration
def test_llama_server_gets_the_gbnf_as_grammar() -> None:
    with llama_server(reply=lambda body: "no") as server:
        completion = model_of(server).complete(ASK, GenerationOptions(grammar=YES_NO_GRAMMAR, stop=("\n",)))
        assert completion.text == "no"
        assert server.bodies[0]["grammar"] == YES_NO_GRAMMAR and server.bodies[0]["stop"] == ["\n"]


def _json_answer(text: str) -> Any:
    def reply(body: dict[str, Any]) -> str:
        return json.dumps({"answer": text}) if "response_format" in body else "free text"

    return reply


@pytest.mark.integration
def test_ollama_gets_a_json_schema_and_the_json_reply_is_decoded() -> None:
    step = "Action: calculator\nAction Input: 2 + 2"
    with ollama(reply=_json_answer(step)) as server:
        pieces: list[str] = []
        options = GenerationOptions(grammar=STEP_GRAMMAR, stop=("Observation:",))
        completion = model_of(server).complete(ASK, options, pieces.append)
        assert completion.text == step and pieces == [step]
        body = server.bodies[0]
        schema = body["response_format"]["json_schema"]
        assert body["response_format"]["type"] == "json_schema" and schema["strict"] is True
        assert schema["schema"]["properties"]["answer"]["pattern"].startswith("^(Action: calculator")
        assert "stop" not in body  # a stop string would cut the JSON
        assert "stream" not in body  # a JSON reply is decoded whole


@pytest.mark.integration
def test_openai_kind_gets_an_enum_schema() -> None:
    with FakeChatServer(reply=_json_answer("Yes")) as server:
        completion = model_of(server, server_kind="openai").complete(ASK, GenerationOptions(grammar=YES_NO_GRAMMAR))
        assert completion.text == "Yes"
        answer = server.bodies[0]["response_format"]["json_schema"]["schema"]["properties"]["answer"]
        assert answer == {"type": "string", "enum": ["yes", "no", "Yes", "No"]}


@pytest.mark.integration
def test_a_generic_server_gets_no_constraint_fields() -> None:
    with FakeChatServer() as server:
        model_of(server).complete(ASK, GenerationOptions(grammar=YES_NO_GRAMMAR))
        assert not {"grammar", "response_format", "structured_outputs", "guided_choice"} & set(server.bodies[0])


@pytest.mark.integration
def test_a_rejected_field_is_dropped_remembered_and_logged_once(caplog) -> None:
    message = "Unrecognized request argument supplied: grammar"
    with FakeChatServer(reject_fields={"grammar": message}, reply=_json_answer("yes")) as server:
        model = model_of(server, server_kind="llamacpp")
        with caplog.at_level(logging.WARNING, logger="ponder.models"):
            first = model.complete(ASK, GenerationOptions(grammar=YES_NO_GRAMMAR))
            second = model.complete(ASK, GenerationOptions(grammar=YES_NO_GRAMMAR))
            model.complete(ASK, GenerationOptions(grammar=YES_NO_GRAMMAR))
        assert first.text == "free text"  # the retry without the grammar: unconstrained
        assert second.text == "yes"  # later calls: the JSON schema instead, decoded
        assert "grammar" in server.bodies[0] and "grammar" not in server.bodies[1]
        assert "response_format" in server.bodies[2] and "grammar" not in server.bodies[2]
        assert len(server.bodies) == 4
        warnings = [r for r in caplog.records if "grammar" in r.getMessage()]
        assert len(warnings) == 1 and "rejected the request field 'grammar'" in warnings[0].getMessage()


@pytest.mark.integration
def test_a_rejected_tool_choice_is_retried_without_it() -> None:
    message = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
    with FakeChatServer(
        reject_fields={"tool_choice": message}, tool_call=("final_answer", '{"answer": "4"}')
    ) as server:
        result = Engine(model_of(server)).run(React(tools=[calculator_tool()], native=True), "2 + 2?")
        assert result.answer == "4"
        assert server.bodies[0]["tool_choice"] == "required" and "tool_choice" not in server.bodies[1]
        assert model_of(server).info.rejected == {"tool_choice"}


@pytest.mark.integration
def test_an_error_that_names_no_field_we_sent_is_an_error() -> None:
    from ponder import ModelCallError

    with FakeChatServer(reject_fields={"messages": "bad messages"}) as server:
        with pytest.raises(ModelCallError, match=r"answered 400: .*bad messages"):
            model_of(server).complete(ASK, GenerationOptions(grammar=YES_NO_GRAMMAR))
        assert len(server.bodies) == 1


# -- native tool calls ------------------------------------------------------------------


@pytest.mark.integration
def test_vllm_gets_tool_choice_required_and_ollama_none() -> None:
    call = ("final_answer", '{"answer": "4"}')
    with vllm(tool_call=call) as server:
        result = Engine(model_of(server)).run(React(tools=[calculator_tool()], native=True), "2 + 2?")
        assert result.answer == "4" and server.bodies[0]["tool_choice"] == "required"
        assert [t["function"]["name"] for t in server.bodies[0]["tools"]] == ["calculator", "final_answer"]
        assert "structured_outputs" not in server.bodies[0]  # a tool call is the server's own JSON
    with ollama(tools=True, tool_call=call) as server:
        result = Engine(model_of(server)).run(React(tools=[calculator_tool()], native=True), "2 + 2?")
        assert result.answer == "4" and "tool_choice" not in server.bodies[0]


def _ignores_tools(body: dict[str, Any]) -> str:
    return "I believe it is 4." if body.get("tools") else "Final Answer: 4"


@pytest.mark.integration
def test_a_server_that_ignores_tools_falls_back_to_the_text_protocol() -> None:
    with FakeChatServer(reply=_ignores_tools) as server:
        result = Engine(model_of(server)).run(React(tools=[calculator_tool()], native=True), "What is 2 + 2?")
        assert result.answer == "4" and result.stop_reason == "answered"
        assert "fallback" in result.detail
        kinds_ = [s.kind for s in result.steps]
        assert kinds_ == ["action", "format_error", "action", "format_error", "fallback", "action"]
        fallback = next(s for s in result.steps if s.kind == "fallback")
        assert fallback.data["protocol_from"] == "native" and fallback.data["replies"] == 2
        assert "tools" in server.bodies[1] and "tools" not in server.bodies[2]
        # the backend remembers: later runs on this server pick the text protocol from the start
        assert model_of(server).preferred_tool_protocol == "text"
        assert server.bodies[2]["messages"][-1]["content"] == "Question: What is 2 + 2?"


@pytest.mark.integration
def test_fallback_can_be_turned_off() -> None:
    with FakeChatServer(reply=_ignores_tools) as server:
        result = Engine(model_of(server)).run(
            React(tools=[calculator_tool()], native=True, fallback_after=0), "What is 2 + 2?"
        )
        assert result.stop_reason == "error" and "3 replies without a tool call" in result.detail


@pytest.mark.integration
def test_cli_default_protocol_works_on_a_server_that_ignores_tools(capsys) -> None:
    with FakeChatServer(reply=_ignores_tools) as server:
        args = ["ask", "What is 2 + 2?", "-s", "react", "--tools", "calculator", "--model", "openai:m"]
        code = main([*args, "--base-url", server.url, "--no-store", "--json"])
        out = json.loads(capsys.readouterr().out)
        assert code == 0 and out["answer"] == "4" and out["stop_reason"] == "answered"


@pytest.mark.integration
@pytest.mark.parametrize(("make", "native"), [(llama_server, False), (vllm, True), (ollama, False)])
def test_auto_tool_protocol_follows_the_probed_server(make: Any, native: bool) -> None:
    with make() as server:
        spec = RunSpec.from_dict(
            {
                "strategy": "react",
                "tools": ["calculator"],
                "models": {"root": {"model": "openai:m", "base_url": server.url}},
                "record": False,
            }
        )
        with open_run(spec) as opened:
            assert isinstance(opened.strategy, React) and opened.strategy.native is native


# -- windows ------------------------------------------------------------------------------


def _words(n: int) -> list[Message]:
    return [user(" ".join(["word"] * n))]


@pytest.mark.integration
def test_a_prompt_over_the_reported_window_is_refused_before_the_call() -> None:
    with vllm(window=64) as server:
        model = model_of(server)
        with pytest.raises(PromptTooLong, match="prompt of 300 tokens exceeds the context window of 64"):
            model.complete(_words(300), GenerationOptions())
        assert server.bodies == []  # no chat call made
        assert [path for path, _ in server.other_bodies] == ["/tokenize"]  # counted by the server's tokenizer


@pytest.mark.integration
def test_near_the_window_the_server_count_decides() -> None:
    with vllm(window=64) as server:
        model = model_of(server)
        model.complete(_words(3), GenerationOptions())  # far below: an estimate, no tokenizer call
        assert server.other_bodies == []
        # 40 words of 4 characters: the estimate (54) is above half the window, the server counts 40: it fits
        model.complete(_words(40), GenerationOptions(max_tokens=8))
        assert len(server.bodies) == 2 and [p for p, _ in server.other_bodies] == ["/tokenize"]


@pytest.mark.integration
def test_a_server_error_about_the_context_length_is_prompt_too_long() -> None:
    message = "This model's maximum context length is 64 tokens. However, you requested 900 tokens"
    with FakeChatServer(reject_fields={"messages": message}) as server:
        model = model_of(server)
        with pytest.raises(PromptTooLong, match="prompt of 900 tokens exceeds the context window of 64"):
            model.complete(ASK, GenerationOptions())
        assert model.context_window == 64  # learned: the next overlong prompt is refused before the call
        with pytest.raises(PromptTooLong):
            model.complete(_words(100), GenerationOptions())
        assert len(server.bodies) == 1


@pytest.mark.integration
def test_code_mode_sees_the_sub_models_window_in_the_repl() -> None:
    def root(messages: Sequence[Message]) -> str:
        last = messages[-1].content
        if "Output:" not in last:
            return "```python\nprint(llm_query('summarise: ' + context))\n```"
        return f"```python\nFINAL({last!r})\n```"

    sub = ScriptedModel(lambda messages: "short", context_window=50)
    engine = Engine(ScriptedModel(root, writes_code=True), models={"sub": sub})
    result = engine.run(RecursiveCode("word " * 200), "Summarise the context")
    assert result.answer is not None
    assert "exceeds the sub-model's window of 50; slice the input" in result.answer


@pytest.mark.integration
def test_a_server_that_is_down_is_probed_again_once_it_is_up() -> None:
    from servers import free_port

    port = free_port()
    model = OpenAIModel("m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    assert model.info.kind == "generic" and not model.info.reached
    with vllm() as server:  # the same model object, a server on another port: re-pointed to check re-probing
        model.base_url = server.url
        assert model.info.kind == "vllm"
