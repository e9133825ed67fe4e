"""The OpenAI-compatible backend against real servers on 127.0.0.1.

These tests start a process, a server or a real model; the others are in tests/unit/test_openai_compat.py."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from openai_compat_helpers import FRANCE, MESSAGES, SYS, fake_model
from ponder import (
    Batch,
    Budget,
    Engine,
    Generate,
    GenerationOptions,
    ModelCallError,
    ModelNotFoundError,
    ModelUnavailableError,
    Outcome,
    Refine,
    Single,
    load_model,
)
from ponder.cli import main
from ponder.models import smollm2_path
from ponder.models.openai_compat import OpenAIModel
from ponder.requests import StrategyGen
from ponder.types import user
from servers import (
    DROP,
    GARBAGE,
    STREAM_ERROR,
    FakeChatServer,
    ServerStartError,
    free_port,
    start_process_server,
    stop_process,
)

# -- talking to a well-behaved server ---------------------------------------------


@pytest.mark.integration
def test_plain_call_sends_options_and_reads_usage():
    with FakeChatServer(cached_tokens=2) as server:
        model = fake_model(server.url)
        options = GenerationOptions(temperature=0.5, max_tokens=50, seed=3, stop=("END",), top_p=0.9)
        completion = model.complete(MESSAGES, options)
    assert completion.text == f"echo: {FRANCE}"
    assert completion.finish_reason == "stop"
    assert completion.model == "openai:fake"
    body = server.bodies[0]
    assert body["model"] == "fake"
    assert body["messages"] == [m.to_dict() for m in MESSAGES]
    assert (body["temperature"], body["max_tokens"], body["seed"], body["stop"], body["top_p"]) == (
        0.5,
        50,
        3,
        ["END"],
        0.9,
    )
    assert "stream" not in body
    words = len(SYS.split()) + len(FRANCE.split())
    assert completion.usage.to_dict() == {
        "prompt_tokens": words,
        "completion_tokens": 7,
        "prompt_tokens_evaluated": words - 2,  # the server reused 2 cached tokens
        "model_calls": 1,
        "total_tokens": words + 7,
    }


@pytest.mark.integration
def test_length_finish_reason_is_passed_on():
    with FakeChatServer() as server:
        completion = fake_model(server.url).complete(MESSAGES, GenerationOptions(max_tokens=2))
    assert completion.text == "echo: What"
    assert completion.finish_reason == "length"


@pytest.mark.integration
def test_streaming_delivers_pieces_and_server_usage():
    pieces: list[str] = []
    with FakeChatServer() as server:
        completion = fake_model(server.url).complete(MESSAGES, GenerationOptions(), pieces.append)
    assert len(pieces) == 7
    assert "".join(pieces) == completion.text == f"echo: {FRANCE}"
    assert server.bodies[0]["stream"] is True
    assert server.bodies[0]["stream_options"] == {"include_usage": True}
    assert completion.usage.completion_tokens == 7  # the server's count, not an estimate
    assert completion.usage.model_calls == 1


@pytest.mark.integration
def test_stream_without_usage_is_estimated():
    with FakeChatServer(usage=False) as server:
        model = fake_model(server.url)
        streamed = model.complete(MESSAGES, GenerationOptions(), lambda piece: None)
        plain = model.complete(MESSAGES, GenerationOptions())
    for completion in (streamed, plain):
        assert completion.text == f"echo: {FRANCE}"
        assert completion.usage.prompt_tokens == sum(model.count_tokens(m.content) for m in MESSAGES)
        assert completion.usage.completion_tokens == model.count_tokens(completion.text)
        assert completion.usage.model_calls == 1


@pytest.mark.integration
def test_server_rejecting_stream_options_is_asked_again_without():
    pieces: list[str] = []
    with FakeChatServer(reject_stream_options=True) as server:
        model = fake_model(server.url)
        first = model.complete(MESSAGES, GenerationOptions(), pieces.append)
        assert server.requests == 2
        assert "stream_options" in server.bodies[0] and "stream_options" not in server.bodies[1]
        second = model.complete(MESSAGES, GenerationOptions(), pieces.append)
        assert server.requests == 3  # remembered: no second refusal
        assert "stream_options" not in server.bodies[2]
    assert model.stream_usage is False
    assert first.text == second.text == f"echo: {FRANCE}"
    assert "".join(pieces) == first.text * 2
    assert first.usage.completion_tokens > 0  # estimated


@pytest.mark.integration
def test_other_bad_requests_in_a_stream_are_not_repeated():
    with FakeChatServer(faults=[400]) as server:
        with pytest.raises(ModelCallError, match="400"):
            fake_model(server.url).complete(MESSAGES, GenerationOptions(), lambda piece: None)
        assert server.requests == 1


@pytest.mark.integration
@pytest.mark.parametrize("stream", [False, True])
def test_native_tool_calls_are_sent_and_parsed(stream):
    schema = {
        "type": "function",
        "function": {"name": "add", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}},
    }
    arguments = '{"a": 2, "b": 40}'
    with FakeChatServer(tool_call=("add", arguments)) as server:
        model = fake_model(server.url)
        completion = model.complete(MESSAGES, GenerationOptions(), (lambda piece: None) if stream else None, [schema])
        without_tools = model.complete(MESSAGES, GenerationOptions())
    assert server.bodies[0]["tools"] == [schema]
    assert "tools" not in server.bodies[1]
    assert completion.finish_reason == "tool_calls"
    assert [(c.id, c.name, c.arguments) for c in completion.tool_calls] == [("call_1", "add", arguments)]
    assert without_tools.tool_calls == ()
    assert without_tools.text == f"echo: {FRANCE}"


# -- retries and errors -------------------------------------------------------------


# a dropped connection has no Retry-After header, so the SDK backs off 0.5 s: one drop is enough
@pytest.mark.integration
@pytest.mark.parametrize(("fault", "failures"), [(503, 1), (503, 2), (429, 2), (500, 1), (DROP, 1)])
def test_transient_errors_are_retried(fault, failures):
    with FakeChatServer(faults=[fault] * failures) as server:
        completion = fake_model(server.url, max_retries=2).complete(MESSAGES, GenerationOptions())
        assert server.requests == failures + 1
    assert completion.text == f"echo: {FRANCE}"


@pytest.mark.integration
def test_retry_without_retry_after_uses_the_sdk_backoff():
    with FakeChatServer(faults=[503], retry_after_ms=None) as server:
        completion = fake_model(server.url).complete(MESSAGES, GenerationOptions())
        assert server.requests == 2
    assert completion.text == f"echo: {FRANCE}"


@pytest.mark.integration
def test_streamed_call_is_retried_before_the_stream_starts():
    pieces: list[str] = []
    with FakeChatServer(faults=[503, 429]) as server:
        completion = fake_model(server.url).complete(MESSAGES, GenerationOptions(), pieces.append)
        assert server.requests == 3
    assert "".join(pieces) == completion.text == f"echo: {FRANCE}"


@pytest.mark.integration
def test_persistent_503_gives_up_after_max_retries():
    with FakeChatServer(faults=[503] * 10) as server:
        with pytest.raises(ModelUnavailableError, match=r"answered 503 after 2 retries") as info:
            fake_model(server.url, max_retries=2).complete(MESSAGES, GenerationOptions())
        assert server.requests == 3
    assert server.url in str(info.value)


@pytest.mark.integration
def test_max_retries_zero_means_one_attempt():
    with FakeChatServer(faults=[503]) as server:
        with pytest.raises(ModelUnavailableError):
            fake_model(server.url, max_retries=0).complete(MESSAGES, GenerationOptions())
        assert server.requests == 1


@pytest.mark.integration
def test_400_is_not_retried():
    with FakeChatServer(faults=[400]) as server:
        with pytest.raises(ModelCallError, match=r"answered 400: .*injected 400"):
            fake_model(server.url).complete(MESSAGES, GenerationOptions())
        assert server.requests == 1


@pytest.mark.integration
def test_404_is_model_not_found():
    with FakeChatServer(faults=[404]) as server:
        with pytest.raises(ModelNotFoundError, match="does not know model 'fake'"):
            fake_model(server.url).complete(MESSAGES, GenerationOptions())
        assert server.requests == 1


@pytest.mark.integration
def test_wrong_path_is_model_not_found():
    with FakeChatServer() as server, pytest.raises(ModelNotFoundError, match="404"):
        fake_model(server.url.removesuffix("/v1") + "/nope").complete(MESSAGES, GenerationOptions())


@pytest.mark.integration
@pytest.mark.parametrize("status", [401, 403])
def test_rejected_key_is_unavailable(status):
    with FakeChatServer(faults=[status]) as server:
        with pytest.raises(ModelUnavailableError, match=f"refused the API key for openai:fake \\({status}\\)"):
            fake_model(server.url).complete(MESSAGES, GenerationOptions())
        assert server.requests == 1


@pytest.mark.integration
@pytest.mark.parametrize("stream", [False, True])
def test_a_server_that_is_not_openai_compatible_is_a_call_error(stream):
    with FakeChatServer(faults=[GARBAGE]) as server:
        model = fake_model(server.url)
        with pytest.raises(ModelCallError, match="is it OpenAI-compatible"):
            model.complete(MESSAGES, GenerationOptions(), (lambda piece: None) if stream else None)


@pytest.mark.integration
def test_error_event_inside_a_stream_is_a_call_error():
    pieces: list[str] = []
    with FakeChatServer(faults=[STREAM_ERROR]) as server:
        with pytest.raises(ModelCallError, match="failed: injected stream error"):
            fake_model(server.url).complete(MESSAGES, GenerationOptions(), pieces.append)
        assert server.requests == 1  # a stream that has started is never replayed
    assert pieces == ["echo:"]


@pytest.mark.integration
def test_timeout_is_unavailable_with_the_limit():
    with (
        FakeChatServer(delay=0.6) as server,
        pytest.raises(ModelUnavailableError, match=r"did not answer within 0.2 s") as info,
    ):
        fake_model(server.url, timeout=0.2, max_retries=0).complete(MESSAGES, GenerationOptions())
    assert server.url in str(info.value)


@pytest.mark.integration
def test_errors_reach_the_cli_as_one_line(capsys):
    with FakeChatServer(faults=[404]) as server:
        code = main(["ask", FRANCE, "--model", "openai:nosuch", "--base-url", server.url, "--json"])
    _, err = capsys.readouterr()
    assert code == 1
    assert err.startswith("ponder: error: the model server at") and "'nosuch'" in err
    assert err.count("\n") == 1


# -- concurrency --------------------------------------------------------------------


@dataclass(frozen=True)
class FanOut:
    """Asks four independent questions as one Batch."""

    n: int = 4
    name: str = "fanout"

    def run(self, question: str) -> StrategyGen:
        batch = Batch(tuple(Generate.of([user(f"{question} #{i}")], kind="branch") for i in range(self.n)))
        completions = yield batch
        return Outcome(" | ".join(c.text for c in completions))


@pytest.mark.integration
def test_batch_calls_overlap_on_the_server():
    assert OpenAIModel.supports_concurrency is True
    with FakeChatServer(delay=0.3) as server:
        result = Engine(fake_model(server.url)).run(FanOut(), "q")
        assert server.requests == 4
        assert server.max_in_flight >= 2
    assert result.answer == " | ".join(f"echo: q #{i}" for i in range(4))  # order kept
    assert result.usage.model_calls == 4
    assert [s.kind for s in result.steps] == ["branch"] * 4


@pytest.mark.integration
def test_batch_is_serial_with_max_parallel_calls_one():
    with FakeChatServer(delay=0.05) as server:
        Engine(fake_model(server.url), max_parallel_calls=1).run(FanOut(), "q")
        assert server.requests == 4
        assert server.max_in_flight == 1


# -- llama-cpp-python's own server (integration) -------------------------------------


@pytest.mark.integration
def test_process_server_that_dies_reports_its_output():
    command = [sys.executable, "-c", "import sys; print('no model here', file=sys.stderr); sys.exit(3)"]
    with pytest.raises(ServerStartError, match=r"exited with code 3 (?s:.*)no model here"):
        start_process_server(command, free_port(), wait=30)


@pytest.mark.integration
def test_process_server_that_never_answers_is_stopped():
    command = [sys.executable, "-c", "import time; print('starting', flush=True); time.sleep(60)"]
    with pytest.raises(ServerStartError, match=r"did not answer /v1/models within 0.5 s(?s:.*)starting"):
        start_process_server(command, free_port(), wait=0.5)


@pytest.fixture(scope="session")
def llama_server() -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT/v1``) of ``python -m llama_cpp.server`` serving SmolLM2."""
    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        pytest.skip("llama-cpp-python[server] is not installed")
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(smollm2_path()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
    ]
    try:
        server = start_process_server(command, port, wait=90)
    except ServerStartError as exc:
        pytest.fail(str(exc))
    try:
        yield server.base_url
    finally:
        stop_process(server.process)
        server.log.unlink(missing_ok=True)


@pytest.fixture
def served(llama_server: str) -> OpenAIModel:
    model = load_model("openai:smollm2", base_url=llama_server, timeout=60.0, max_retries=0)
    assert isinstance(model, OpenAIModel)
    return model


@pytest.mark.integration
def test_server_answers_a_simple_fact(served):
    result = Engine(served, options=GenerationOptions(max_tokens=48)).run(Single(), FRANCE)
    assert "Paris" in result.answer
    assert result.model == "openai:smollm2"
    usage = result.steps[0].usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.model_calls == 1


@pytest.mark.integration
def test_server_reports_usage_on_plain_calls(served):
    completion = served.complete(MESSAGES, GenerationOptions(max_tokens=32))
    assert "Paris" in completion.text
    # llama.cpp's tokenizer counts the chat template too, so more than our 4-chars-per-token guess of the text
    assert completion.usage.prompt_tokens > sum(served.count_tokens(m.content) for m in MESSAGES)
    assert completion.usage.completion_tokens > 0
    assert completion.usage.model_calls == 1


@pytest.mark.integration
def test_server_streams_pieces(served):
    pieces: list[str] = []
    completion = served.complete(MESSAGES, GenerationOptions(max_tokens=32), pieces.append)
    assert len(pieces) >= 2
    assert "".join(pieces) == completion.text
    assert "Paris" in completion.text
    # llama.cpp's server accepts stream_options but sends no usage in the stream: estimated
    assert served.stream_usage is True
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    assert completion.usage.model_calls == 1


@pytest.mark.integration
def test_server_honours_max_tokens(served):
    for on_text in (None, lambda piece: None):
        completion = served.complete(MESSAGES, GenerationOptions(max_tokens=3), on_text)
        assert completion.finish_reason == "length"
        assert completion.text and "Paris" not in completion.text
    assert completion.usage.completion_tokens <= 4


@pytest.mark.integration
def test_server_honours_stop_sequences(served):
    full = served.complete(MESSAGES, GenerationOptions(max_tokens=32)).text
    assert "Paris" in full
    for on_text in (None, lambda piece: None):
        cut = served.complete(MESSAGES, GenerationOptions(max_tokens=32, stop=("Paris",)), on_text)
        assert "Paris" not in cut.text
        assert full.startswith(cut.text)
        assert cut.finish_reason == "stop"


@pytest.mark.integration
def test_refine_runs_end_to_end_on_the_server(served):
    pieces: list[tuple[int, str, str]] = []
    engine = Engine(
        served,
        budget=Budget(max_steps=4),
        options=GenerationOptions(max_tokens=48),
        on_text=lambda index, kind, piece: pieces.append((index, kind, piece)),
    )
    result = engine.run(Refine(), "Explain in two sentences why the sky is blue.")
    kinds = [s.kind for s in result.steps]
    assert kinds[:2] == ["draft", "critique"]
    assert result.usage.model_calls >= 2
    assert result.stop_reason in {"converged", "loop", "max_steps", "budget"}
    assert result.answer
    assert {kind for _, kind, _ in pieces} >= {"draft", "critique"}
    draft = next(s for s in result.steps if s.kind == "draft")
    assert "".join(p for i, _, p in pieces if i == draft.index) == draft.text


@pytest.mark.integration
def test_cli_ask_against_the_server(llama_server, capsys):
    code = main(
        ["ask", FRANCE, "--model", "openai:smollm2", "--base-url", llama_server, "--max-tokens", "48", "--json"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert "Paris" in data["answer"]
    assert data["model"] == "openai:smollm2"
    assert data["stop_reason"] == "answered"
    assert data["usage"]["model_calls"] == 1


# -- the real server: grammar, tool_choice, the default tool protocol (integration) ---------


@pytest.mark.integration
def test_server_is_probed_as_llamacpp_and_honours_the_grammar(served):
    import re

    from ponder.grammar.constraint import Constraint

    assert served.info.kind == "llamacpp" and served.supports_grammar
    assert served.preferred_tool_protocol == "text"
    odd = 'root ::= "banana-" [0-9] [0-9] " split"'  # nothing the model would write unconstrained
    for on_text in (None, lambda piece: None):
        completion = served.complete(MESSAGES, GenerationOptions(max_tokens=16, grammar=odd), on_text)
        regex = Constraint.parse(odd).regex
        assert regex is not None and re.match(regex, completion.text), completion.text


@pytest.mark.integration
def test_react_with_default_flags_uses_the_grammar_on_the_server(llama_server):
    from ponder import RunSpec, open_run
    from ponder.strategies import React

    spec = RunSpec.from_dict(
        {
            "strategy": "react",
            "tools": ["calculator"],
            "models": {"root": {"model": "openai:smollm2", "base_url": llama_server}},
            "record": False,
        }
    )
    with open_run(spec) as opened:
        assert isinstance(opened.strategy, React) and not opened.strategy.native  # auto: text + grammar
        result = opened.run("What is 696 - 135 + 787?")
    assert result.stop_reason == "answered", result.detail
    assert [s.kind for s in result.steps].count("format_error") == 0
    assert result.steps[0].text.startswith(("Action: calculator\nAction Input: ", "Final Answer: "))


@pytest.mark.integration
def test_native_tools_ignored_by_the_server_fall_back_to_text(served):
    from ponder.strategies import React
    from ponder.tools import calculator_tool

    result = Engine(served, options=GenerationOptions(max_tokens=64)).run(
        React(tools=[calculator_tool()], native=True), "What is 12 * 7?"
    )
    kinds = [s.kind for s in result.steps]
    # llama-cpp-python's chatml handler ignores tools with tool_choice "required": no tool call comes back
    assert "fallback" in kinds, kinds
    assert result.stop_reason == "answered", result.detail
    assert "fallback" in result.detail
