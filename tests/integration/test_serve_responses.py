"""``POST /v1/responses`` of ``ponder serve``, with the official openai SDK's ``responses`` client (sync, async,
streamed) against a real server process on loopback over the scripted model."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from servers import FakeChatServer, ProcessServer, free_port, start_process_server, stop_process

pytestmark = pytest.mark.integration

STRATEGIES = ("single", "refine", "react", "verify", "consistency", "route", "tree", "recursive")
DOCUMENT = " ".join(f"Day {i}: the caravan rested." for i in range(300)) + " The code is 7312."


def serve(tmp_path: Path, *args: str) -> ProcessServer:
    port = free_port()
    command = [sys.executable, "-m", "ponder", "serve", "--port", str(port), "--store", str(tmp_path / "runs.db")]
    return start_process_server([*command, *args], port, ready_path="/health", wait=60)


@pytest.fixture(scope="module")
def scripted(tmp_path_factory) -> Iterator[ProcessServer]:
    server = serve(tmp_path_factory.mktemp("responses"), "--model", "scripted", "--tools", "calculator")
    yield server
    stop_process(server.process)


def client(server: ProcessServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=60)


def stored_run(server: ProcessServer, run_id: str) -> dict:
    with urllib.request.urlopen(f"{server.base_url}/runs/{run_id}", timeout=10) as response:
        return json.loads(response.read())


def calls_of(run: dict) -> list[dict]:
    return [e for e in run["events"] if e["type"] == "model_call"]


def items_for(strategy: str, question: str = "What is the code?") -> list[dict]:
    """recursive reads its long input from an earlier message; the others get it too (and ignore nothing)."""
    return [{"role": "user", "content": DOCUMENT}, {"role": "user", "content": question}]


# -- not streamed ------------------------------------------------------------------------------


def test_a_response_has_reasoning_items_an_answer_and_usage_that_sums_the_stored_run(scripted):
    response = client(scripted).responses.create(model="refine", input="Why is the sky blue?")
    assert response.id.startswith("resp_") and response.status == "completed" and response.object == "response"
    assert response.output_text.startswith("echo:")
    kinds = [item.type for item in response.output]
    assert kinds[-1] == "message" and kinds.count("message") == 1 and kinds.count("reasoning") >= 3
    first = response.output[0]
    assert first.summary[0].text == "step 0: draft" and first.content[0].text.startswith("echo:")
    run_id = response.model_extra["ponder"]["run_id"]
    assert response.id == f"resp_{run_id}"
    calls = calls_of(stored_run(scripted, run_id))
    usage = response.usage
    assert usage.input_tokens == sum(c["usage"]["prompt_tokens"] for c in calls)
    assert usage.output_tokens == sum(c["usage"]["completion_tokens"] for c in calls)
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    answer_tokens = len(response.output_text.split())  # the scripted model counts words
    assert usage.output_tokens_details.reasoning_tokens == usage.output_tokens - answer_tokens > 0


def test_instructions_and_previous_response_id_carry_the_conversation(scripted):
    api = client(scripted)
    first = api.responses.create(model="single", input="My name is Ada.", instructions="Answer like a pirate.")
    second = api.responses.create(
        model="single", input="What is my name?", previous_response_id=first.id, instructions="Be brief."
    )
    assert second.previous_response_id == first.id and second.instructions == "Be brief."
    [call] = calls_of(stored_run(scripted, second.model_extra["ponder"]["run_id"]))
    sent = [(m["role"], m["content"]) for m in call["messages"]]
    assert sent[0][0] == "system" and sent[0][1].startswith("Be brief.") and "pirate" not in str(sent)
    assert sent[1:] == [
        ("user", "My name is Ada."),
        ("assistant", "echo: My name is Ada."),
        ("user", "What is my name?"),
    ]
    third = api.responses.create(model="single", input="And again?", previous_response_id=second.id)
    [call] = calls_of(stored_run(scripted, third.model_extra["ponder"]["run_id"]))
    assert [m["content"] for m in call["messages"] if m["role"] == "user"] == [
        "My name is Ada.",
        "What is my name?",
        "And again?",
    ]


def test_output_items_sent_back_as_input_keep_the_conversation_without_the_steps(scripted):
    api = client(scripted)
    first = api.responses.create(model="refine", input="Hi")
    items = [{"role": "user", "content": "Hi"}, *[i.model_dump() for i in first.output]]
    second = api.responses.create(model="single", input=[*items, {"role": "user", "content": "Again"}])
    [call] = calls_of(stored_run(scripted, second.model_extra["ponder"]["run_id"]))
    assert [(m["role"], m["content"]) for m in call["messages"]][-3:] == [
        ("user", "Hi"),
        ("assistant", first.output_text),
        ("user", "Again"),
    ]


def test_a_run_cut_short_is_incomplete(scripted):
    response = client(scripted).responses.create(
        model="refine", input="Why?", extra_body={"ponder": {"budget": {"max_model_calls": 2}}}
    )
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"
    assert response.model_extra["ponder"]["stop_reason"] == "budget" and response.output_text


# -- streamed --------------------------------------------------------------------------------------


def test_a_stream_sends_typed_events_in_order_with_reasoning_deltas_then_the_answer(scripted):
    events = list(client(scripted).responses.create(model="refine", input="Why is the sky blue?", stream=True))
    types = [e.type for e in events]
    assert types[:2] == ["response.created", "response.in_progress"] and types[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    first_answer = types.index("response.output_text.delta")
    assert 0 < types.index("response.reasoning_text.delta") < first_answer
    assert types.count("response.output_item.added") == types.count("response.output_item.done") >= 4
    assert types[first_answer + 1 : first_answer + 2] == ["response.output_text.done"]
    done = events[-1].response
    assert done.output_text.startswith("echo:") and done.usage.output_tokens_details.reasoning_tokens > 0
    assert events[0].response.id == done.id and done.status == "completed"
    reasoning = "".join(e.delta for e in events if e.type == "response.reasoning_text.delta")
    assert reasoning == "".join(item.content[0].text for item in done.output if item.type == "reasoning")


def test_the_sdk_stream_helper_assembles_the_final_response(scripted):
    with client(scripted).responses.stream(model="consistency", input="What is 6 * 7?") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert deltas == ["echo: What is 6 * 7?"] and final.output_text == deltas[0]
    assert final.usage.input_tokens > 0 and final.model_extra["ponder"]["model_calls"] >= 2


def test_async_clients_create_and_stream(scripted):
    async def main() -> tuple[str, list[str]]:
        api = openai.AsyncOpenAI(base_url=scripted.base_url, api_key="unused", max_retries=0, timeout=60)
        plain, streamed = await asyncio.gather(
            api.responses.create(model="single", input="One?"),
            api.responses.create(model="refine", input="Two?", stream=True),
        )
        types = [event.type async for event in streamed]
        return plain.output_text, types

    text, types = asyncio.run(main())
    assert text == "echo: One?" and types[-1] == "response.completed" and "response.reasoning_text.delta" in types


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_answers_and_streams(scripted, strategy):
    api = client(scripted)
    response = api.responses.create(model=strategy, input=items_for(strategy))
    extra = response.model_extra["ponder"]
    run = stored_run(scripted, extra["run_id"])
    assert run["strategy"] == strategy and run["stop_reason"] == extra["stop_reason"]
    assert response.output[-1].type == "message" and response.usage.input_tokens == sum(
        c["usage"]["prompt_tokens"] for c in calls_of(run)
    )
    if strategy == "recursive":  # the earlier message is the input it reads, not a prefix of its calls
        assert all(DOCUMENT not in str(c["messages"]) for c in calls_of(run))
    events = list(api.responses.create(model=strategy, input=items_for(strategy), stream=True))
    last = events[-1]
    assert last.type in ("response.completed", "response.incomplete")
    assert (last.type == "response.completed") == (response.status == "completed")
    assert last.response.output_text == response.output_text
    assert any(e.type == "response.reasoning_text.delta" for e in events)


# -- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "needle"),
    [
        ({"model": "nope", "input": "x"}, openai.NotFoundError, "does not exist"),
        ({"model": "single", "input": ""}, openai.BadRequestError, "input is empty"),
        ({"model": "single", "input": [{"role": "assistant", "content": "x"}]}, openai.BadRequestError, "last input"),
        ({"model": "single", "input": "x", "tools": [{"type": "web_search"}]}, openai.BadRequestError, "tools"),
        ({"model": "single", "input": "x", "background": True}, openai.BadRequestError, "background"),
        ({"model": "single", "input": "x", "previous_response_id": "resp_0123456789ab"}, openai.NotFoundError,
         "no response"),
        ({"model": "single", "input": "x", "previous_response_id": "chatcmpl-1"}, openai.BadRequestError,
         "not a response id"),
        ({"model": "single", "input": [{"type": "function_call_output", "call_id": "c", "output": "1"}]},
         openai.BadRequestError, "only message items"),
        ({"model": "single", "input": "x", "text": {"format": {"type": "json_object"}}}, openai.BadRequestError,
         "only text output"),
        ({"model": "single", "input": "x", "extra_body": {"ponder": {"store": "/tmp/x.db"}}},
         openai.BadRequestError, "set by the server"),
    ],
)  # fmt: skip
def test_bad_requests_get_the_api_error_shape(scripted, kwargs, error, needle):
    with pytest.raises(error) as caught:
        client(scripted).responses.create(**kwargs)
    body = caught.value.body
    assert needle in body["message"] and set(body) == {"message", "type", "param", "code"}


def test_a_prefix_or_a_child_run_is_not_a_previous_response(scripted):
    api = client(scripted)
    first = api.responses.create(model="single", input="Hi")
    with pytest.raises(openai.NotFoundError):
        api.responses.create(model="single", input="x", previous_response_id=first.id[:-3])


def test_without_a_store_previous_response_id_is_a_clear_400(tmp_path):
    server = serve(tmp_path, "--model", "scripted", "--no-store")
    try:
        api = client(server)
        first = api.responses.create(model="single", input="Hi")
        assert first.output_text == "echo: Hi" and first.store is False
        with pytest.raises(openai.BadRequestError) as caught:
            api.responses.create(model="single", input="x", previous_response_id=first.id)
        assert "--no-store" in caught.value.body["message"]
        assert caught.value.body["param"] == "previous_response_id"
    finally:
        stop_process(server.process)


def test_a_run_that_fails_after_it_started_ends_the_stream_with_response_failed(tmp_path):
    with FakeChatServer(faults=[401] * 20) as upstream:  # an upstream that refuses every call (not retried)
        server = serve(tmp_path, "--model", "openai:up", "--base-url", upstream.url)
        try:
            api = client(server)
            with pytest.raises(openai.APIStatusError) as caught:
                api.responses.create(model="single", input="Hi")
            assert caught.value.status_code == 502 and caught.value.body["code"] == "upstream_error"
            events = list(api.responses.create(model="single", input="Hi", stream=True))
            assert [e.type for e in events][:2] == ["response.created", "response.in_progress"]
            failed = events[-1]
            assert failed.type == "response.failed" and failed.response.status == "failed"
            assert failed.response.error.code == "upstream_error" and "upstream" in failed.response.error.message
        finally:
            stop_process(server.process)


def latest_root(db: Path, strategy: str, timeout: float = 20.0) -> tuple[str, str, str]:
    """(status, stop_reason, detail) of the newest top-level run of ``strategy``, once it has ended."""
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(db) as conn:
            row = conn.execute(
                "SELECT status, stop_reason, detail FROM runs WHERE depth = 0 AND strategy = ? ORDER BY started DESC"
                " LIMIT 1",
                (strategy,),
            ).fetchone()
        if row is not None and row[0] in ("finished", "error"):
            return row
        assert time.monotonic() < deadline, f"no ended {strategy} run"
        time.sleep(0.1)


def test_a_client_that_goes_away_cancels_its_run_streamed_or_not(tmp_path):
    with FakeChatServer(delay=0.25) as upstream:
        server = serve(tmp_path, "--model", "openai:up", "--base-url", upstream.url)
        long_run = {"ponder": {"samples": 12, "adaptive": False, "inner": "refine"}}
        try:
            stream = client(server).responses.create(model="consistency", input="Hi", stream=True, extra_body=long_run)
            events = iter(stream)
            assert [next(events).type for _ in range(3)][:2] == ["response.created", "response.in_progress"]
            stream.close()
            assert latest_root(tmp_path / "runs.db", "consistency")[:2] == ("finished", "cancelled")
            impatient = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=1.5)
            with pytest.raises(openai.APITimeoutError):
                impatient.responses.create(model="tree", input="Hi", extra_body={"ponder": {"beam": 4, "depth": 4}})
            status, stop_reason, detail = latest_root(tmp_path / "runs.db", "tree")
            assert (status, stop_reason) == ("finished", "cancelled") and "disconnected" in detail
        finally:
            stop_process(server.process)
