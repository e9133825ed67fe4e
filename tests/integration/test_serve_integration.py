"""``ponder serve`` on the real embedded model, with the official openai SDK as the client."""

from __future__ import annotations

import sys

import openai
import pytest

from servers import free_port, start_process_server, stop_process

pytestmark = pytest.mark.integration


def test_the_embedded_model_served_answers_and_streams(tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "ponder", "serve", "--port", str(port), "--store", str(tmp_path / "runs.db")]
    server = start_process_server(command, port, ready_path="/health", wait=120)
    try:
        client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=300)
        question = [{"role": "user", "content": "What is the capital of France?"}]
        reply = client.chat.completions.create(model="single", messages=question, max_tokens=24)
        assert "Paris" in reply.choices[0].message.content
        assert reply.usage.prompt_tokens > 10 and reply.model_extra["ponder"]["model_calls"] == 1
        pieces, reasoning = [], 0
        for chunk in client.chat.completions.create(model="refine", messages=question, max_tokens=24, stream=True):
            delta = chunk.choices[0].delta
            reasoning += bool((delta.model_extra or {}).get("reasoning_content"))
            if delta.content:
                pieces.append(delta.content)
        assert reasoning > 3 and len(pieces) == 1 and pieces[0].strip()
    finally:
        stop_process(server.process)


def test_the_embedded_model_answers_the_responses_api_streamed_and_not(tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "ponder", "serve", "--port", str(port), "--store", str(tmp_path / "runs.db")]
    server = start_process_server(command, port, ready_path="/health", wait=120)
    try:
        client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=300)
        response = client.responses.create(model="single", input="What is the capital of France?", max_output_tokens=24)
        assert "Paris" in response.output_text and response.status == "completed"
        assert response.usage.input_tokens > 10 and response.usage.output_tokens_details.reasoning_tokens == 0
        events = list(
            client.responses.create(
                model="refine", input="What is the capital of France?", max_output_tokens=24, stream=True
            )
        )
        types = [e.type for e in events]
        assert types.count("response.reasoning_text.delta") > 3 and types.count("response.output_text.delta") == 1
        final = events[-1].response
        assert final.output_text.strip() and final.usage.output_tokens_details.reasoning_tokens > 0
    finally:
        stop_process(server.process)
