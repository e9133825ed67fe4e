"""``ponder serve`` with the official openai SDK as the client, against a real server process on loopback.

Upstream is the scripted fake (``--model scripted``) or the loopback fake OpenAI
server of :mod:`servers` (``--model openai:NAME --base-url ...``), so a test can
make the upstream slow and watch the stream arrive while the run is working.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from servers import FakeChatServer, ProcessServer, free_port, start_process_server, stop_process

pytestmark = pytest.mark.integration

QUESTION = [{"role": "user", "content": "Why is the sky blue?"}]


def serve(tmp_path: Path, *args: str) -> ProcessServer:
    port = free_port()
    command = [sys.executable, "-m", "ponder", "serve", "--port", str(port), "--store", str(tmp_path / "runs.db")]
    server = start_process_server([*command, *args], port, ready_path="/health", wait=60)
    server.db = tmp_path / "runs.db"  # type: ignore[attr-defined]
    return server


@pytest.fixture(scope="module")
def scripted(tmp_path_factory) -> Iterator[ProcessServer]:
    server = serve(tmp_path_factory.mktemp("serve"), "--model", "scripted", "--tools", "calculator")
    yield server
    stop_process(server.process)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeChatServer]:
    with FakeChatServer(delay=0.25) as fake:
        yield fake


@pytest.fixture(scope="module")
def slow(tmp_path_factory, upstream) -> Iterator[ProcessServer]:
    """ponder serve over a loopback upstream that takes 0.25 s per call."""
    server = serve(tmp_path_factory.mktemp("slow"), "--model", "openai:up", "--base-url", upstream.url)
    yield server
    stop_process(server.process)


def client(server: ProcessServer, **kwargs) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=kwargs.pop("api_key", "unused"), max_retries=0, **kwargs)


def stored_run(server: ProcessServer, run_id: str) -> dict:
    with urllib.request.urlopen(f"{server.base_url}/runs/{run_id}", timeout=10) as response:
        return json.loads(response.read())


def wait_finished(server: ProcessServer, run_id: str, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            run = stored_run(server, run_id)
            if run["status"] in ("finished", "error"):
                return run
        except urllib.error.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} did not finish")
        time.sleep(0.1)


# -- answers and usage --------------------------------------------------------------------


def test_a_completion_answers_and_its_usage_sums_every_call_of_the_stored_run(scripted):
    reply = client(scripted).chat.completions.create(model="refine", messages=QUESTION)
    assert reply.choices[0].message.content.startswith("echo:")
    extra = reply.model_extra["ponder"]
    assert extra["stop_reason"] == "converged" and extra["model_calls"] >= 3
    run = stored_run(scripted, extra["run_id"])
    calls = [e for e in run["events"] if e["type"] == "model_call"]
    assert reply.usage.prompt_tokens == sum(e["usage"]["prompt_tokens"] for e in calls)
    assert reply.usage.completion_tokens == sum(e["usage"]["completion_tokens"] for e in calls)
    assert extra["model_calls"] == len(calls) and run["status"] == "finished"
    # all but the final answer is reasoning
    answer_tokens = len(reply.choices[0].message.content.split())
    assert reply.usage.completion_tokens_details.reasoning_tokens == reply.usage.completion_tokens - answer_tokens
    assert "[step 1: critique]" in reply.choices[0].message.model_extra["reasoning_content"]


def test_the_conversation_reaches_the_model_as_messages(scripted):
    messages = [
        {"role": "system", "content": "Answer like a pirate."},
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Ahoy"},
        {"role": "user", "content": "What is 2+2?"},
    ]
    reply = client(scripted).chat.completions.create(model="single", messages=messages, temperature=0.3, seed=7)
    run = stored_run(scripted, reply.model_extra["ponder"]["run_id"])
    [call] = [e for e in run["events"] if e["type"] == "model_call"]
    sent = call["messages"]
    assert sent[0]["role"] == "system" and sent[0]["content"].startswith("Answer like a pirate.")
    assert [(m["role"], m["content"]) for m in sent[1:]] == [
        ("user", "Hi there"),
        ("assistant", "Ahoy"),
        ("user", "What is 2+2?"),
    ]
    assert call["options"]["temperature"] == 0.3 and call["options"]["seed"] == 7


def test_a_partial_spec_in_extra_body_configures_the_run(scripted):
    reply = client(scripted).chat.completions.create(
        model="consistency", messages=QUESTION, extra_body={"ponder": {"samples": 4, "adaptive": False}}
    )
    assert reply.model_extra["ponder"]["model_calls"] == 4
    run = stored_run(scripted, reply.model_extra["ponder"]["run_id"])
    spec = next(e for e in run["events"] if e["type"] == "run_started")["spec"]
    assert spec["strategy"] == {"strategy": "consistency", "samples": 4, "adaptive": False}
    limited = client(scripted).chat.completions.create(
        model="refine", messages=QUESTION, extra_body={"ponder": {"budget": {"max_model_calls": 2}}}
    )
    assert limited.model_extra["ponder"]["model_calls"] == 2 and limited.choices[0].finish_reason == "length"


def test_models_lists_every_strategy_with_a_description(scripted):
    listed = {m.id: m for m in client(scripted).models.list()}
    for name in ("single", "refine", "react", "verify", "consistency", "route", "tree", "recursive"):
        assert name in listed and f"{name}/scripted" in listed
    assert "vote" in listed["consistency"].model_extra["description"]
    page = urllib.request.urlopen(
        f"{scripted.base_url.removesuffix('/v1')}/runs/"
        + client(scripted).chat.completions.create(model="single", messages=QUESTION).model_extra["ponder"]["run_id"]
    )
    assert page.headers["content-type"].startswith("text/html") and b"<html" in page.read().lower()


STRATEGIES = ("single", "refine", "react", "verify", "consistency", "route", "tree", "recursive")
DOCUMENT = {
    "role": "user",
    "content": " ".join(f"Day {i}: the caravan rested." for i in range(300)) + " The code is 7312.",
}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_answers_and_streams_through_the_sdk(scripted, strategy):
    messages = [DOCUMENT, {"role": "user", "content": "What is the code?"}]
    reply = client(scripted).chat.completions.create(model=strategy, messages=messages)
    extra = reply.model_extra["ponder"]
    run = stored_run(scripted, extra["run_id"])
    assert (
        run["strategy"] == strategy and run["stop_reason"] == extra["stop_reason"]
    )  # react: echoes are malformed steps
    calls = [e for e in run["events"] if e["type"] == "model_call"]
    assert reply.usage.prompt_tokens == sum(e["usage"]["prompt_tokens"] for e in calls) and extra["model_calls"] == len(
        calls
    )
    if strategy == "recursive":  # the earlier message is the context it reads in slices, not a prefix of its calls
        assert calls and all(len(e["messages"]) <= 2 and DOCUMENT["content"] not in str(e["messages"]) for e in calls)
    stream = client(scripted).chat.completions.create(model=strategy, messages=messages, stream=True)
    kinds = []
    for chunk in stream:
        delta = chunk.choices[0].delta
        if (delta.model_extra or {}).get("reasoning_content"):
            kinds.append("reasoning")
        if delta.content:
            kinds.append("content")
    assert kinds.count("content") <= 1 and "reasoning" in kinds
    assert kinds[-1] == "content" or not reply.choices[0].message.content


# -- streaming ------------------------------------------------------------------------------


def test_streaming_sends_reasoning_while_the_run_works_then_the_answer_then_usage(slow, upstream):
    started = time.monotonic()
    stream = client(slow).chat.completions.create(
        model="refine", messages=QUESTION, stream=True, stream_options={"include_usage": True}
    )
    seen: list[tuple[str, float, int]] = []  # (what, when, upstream requests so far)
    usage = None
    for chunk in stream:
        if not chunk.choices:
            usage = chunk
            continue
        delta = chunk.choices[0].delta
        reasoning = (delta.model_extra or {}).get("reasoning_content")
        if reasoning:
            assert delta.model_extra["reasoning"] == reasoning
            seen.append(("reasoning", time.monotonic() - started, upstream.requests))
        if delta.content:
            seen.append(("content", time.monotonic() - started, upstream.requests))
    kinds = [k for k, _, _ in seen]
    assert "reasoning" in kinds and kinds[-1] == "content" and kinds.count("content") == 1
    first = next(s for s in seen if s[0] == "reasoning")
    total = seen[-1][1]
    calls = usage.model_extra["ponder"]["model_calls"]
    assert calls >= 3
    # the first reasoning arrived while later calls were still to be made upstream
    assert first[1] < total - 0.25 and first[2] < seen[-1][2]
    assert usage.usage.completion_tokens > 0 and usage.usage.prompt_tokens > 0


def test_a_client_that_disconnects_cancels_its_run(slow):
    stream = client(slow).chat.completions.create(
        model="consistency",
        messages=QUESTION,
        stream=True,
        extra_body={"ponder": {"samples": 12, "adaptive": False, "inner": "refine"}},
    )
    chunks = iter(stream)
    first = next(chunks)
    assert first.choices[0].delta.role == "assistant"
    next(chunks)  # some reasoning: the run is working
    stream.close()
    deadline = time.monotonic() + 20
    row = None
    while time.monotonic() < deadline:
        with sqlite3.connect(slow.db) as conn:  # type: ignore[attr-defined]
            row = conn.execute(
                "SELECT status, stop_reason, detail FROM runs WHERE depth = 0 AND strategy = 'consistency'"
                " ORDER BY started DESC LIMIT 1"
            ).fetchone()
        if row is not None and row[0] in ("finished", "error"):
            break
        time.sleep(0.1)
    # stored as cancelled, long before its 12 samples x refine (about 60 upstream calls) would have ended
    assert row is not None and row[:2] == ("finished", "cancelled") and "disconnected" in row[2]


# -- errors in the OpenAI shape ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "status", "needle"),
    [
        ({"model": "nosuch"}, 404, "does not exist"),
        ({"model": "single", "n": 2}, 400, "n > 1"),
        (
            {"model": "single", "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]},
            400,
            "client-side tools",
        ),
        ({"model": "single", "extra_body": {"ponder": {"samples": 3}}}, 400, "does not apply to single"),
        ({"model": "single", "extra_body": {"ponder": {"store": "/tmp/x.db"}}}, 400, "set by the server"),
        (
            {"model": "single", "extra_body": {"ponder": {"strategy": {"strategy": "verify", "samples": 2}}}},
            400,
            "takes no option",
        ),
        ({"model": "single", "messages": [{"role": "assistant", "content": "hi"}]}, 400, "last message"),
    ],
)
def test_bad_requests_get_the_openai_error_shape(scripted, kwargs, status, needle):
    kwargs = {"messages": QUESTION, **kwargs}
    with pytest.raises(openai.APIStatusError) as error:
        client(scripted).chat.completions.create(**kwargs)
    assert error.value.status_code == status
    body = error.value.body
    assert set(body) == {"message", "type", "param", "code"} and needle in body["message"]


def test_a_body_over_the_limit_is_413(scripted):
    big = [{"role": "user", "content": "x" * (5 * 1024 * 1024)}]
    response = httpx.post(
        f"{scripted.base_url}/chat/completions", json={"model": "single", "messages": big}, timeout=30
    )
    assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"
    response = httpx.post(f"{scripted.base_url}/chat/completions", content=b"{not json", timeout=10)
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]["message"]


def test_an_api_key_is_required_when_set(tmp_path):
    server = serve(tmp_path, "--model", "scripted", "--api-key", "sesame")
    try:
        with pytest.raises(openai.AuthenticationError) as error:
            client(server, api_key="wrong").chat.completions.create(model="single", messages=QUESTION)
        assert error.value.status_code == 401 and error.value.body["code"] == "invalid_api_key"
        reply = client(server, api_key="sesame").chat.completions.create(model="single", messages=QUESTION)
        assert reply.choices[0].message.content == "echo: Why is the sky blue?"
    finally:
        stop_process(server.process)


def test_a_full_server_answers_429_with_retry_after_and_loses_nothing(tmp_path):
    with FakeChatServer(delay=0.4) as up:
        server = serve(
            tmp_path, "--model", "openai:up", "--base-url", up.url, "--max-concurrent", "1", "--max-queue", "1"
        )
        try:

            async def burst() -> list[object]:
                async with openai.AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0) as aio:
                    calls = [aio.chat.completions.create(model="single", messages=QUESTION) for _ in range(4)]
                    return await asyncio.gather(*calls, return_exceptions=True)

            results = asyncio.run(burst())
            ok = [r for r in results if not isinstance(r, Exception)]
            busy = [r for r in results if isinstance(r, openai.RateLimitError)]
            assert len(ok) == 2 and len(busy) == 2  # one running, one queued, two turned away
            assert busy[0].response.headers["retry-after"] == "1"
            for reply in ok:
                assert wait_finished(server, reply.model_extra["ponder"]["run_id"])["stop_reason"] == "answered"
        finally:
            stop_process(server.process)


def test_async_clients_run_concurrently(scripted):
    async def many() -> list[str]:
        async with openai.AsyncOpenAI(base_url=scripted.base_url, api_key="x", max_retries=0) as aio:
            replies = await asyncio.gather(
                *(
                    aio.chat.completions.create(model="single", messages=[{"role": "user", "content": f"q{i}"}])
                    for i in range(8)
                )
            )
        return [r.choices[0].message.content for r in replies]

    assert asyncio.run(many()) == [f"echo: q{i}" for i in range(8)]


# -- shutdown -------------------------------------------------------------------------------


def test_sigterm_lets_running_requests_finish_and_exits_0(tmp_path):
    with FakeChatServer(delay=0.3) as up:
        server = serve(tmp_path, "--model", "openai:up", "--base-url", up.url, "--grace", "20")
        replies: list[object] = []
        worker = threading.Thread(
            target=lambda: replies.append(client(server).chat.completions.create(model="refine", messages=QUESTION))
        )
        worker.start()
        while up.requests == 0:
            time.sleep(0.05)
        server.process.send_signal(signal.SIGTERM)
        worker.join(timeout=30)
        assert server.process.wait(timeout=30) == 0
    [reply] = replies
    run_id = reply.model_extra["ponder"]["run_id"]  # type: ignore[attr-defined]
    with sqlite3.connect(tmp_path / "runs.db") as conn:
        status, stop = conn.execute("SELECT status, stop_reason FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    assert (status, stop) == ("finished", "converged")


def test_sigterm_past_the_grace_stores_the_run_unfinished_and_resumable(tmp_path):
    with FakeChatServer(delay=0.3) as up:
        server = serve(tmp_path, "--model", "openai:up", "--base-url", up.url, "--grace", "1")
        body = {
            "model": "consistency",
            "messages": QUESTION,
            "ponder": {"samples": 30, "adaptive": False, "inner": "refine"},
        }
        threading.Thread(
            target=lambda: httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=60), daemon=True
        ).start()
        while up.requests < 2:
            time.sleep(0.05)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=60) == 0
    with sqlite3.connect(tmp_path / "runs.db") as conn:
        rows = conn.execute("SELECT status, detail FROM runs WHERE depth = 0").fetchall()
    assert len(rows) == 1 and rows[0][0] == "error" and "shut down" in rows[0][1]
