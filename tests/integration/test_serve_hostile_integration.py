"""Hostile requests against ``ponder serve`` on the real embedded model (SmolLM2-135M).

A malformed grammar used to reach llama.cpp, whose sampler returned nothing for it, and llama-cpp-python
used that nothing: the server died with SIGSEGV. Now ponder reads the grammar first (:mod:`ponder.grammar.check`).
"""

from __future__ import annotations

import sys

import httpx
import pytest

from servers import free_port, start_process_server, stop_process

pytestmark = pytest.mark.integration

QUESTION = [{"role": "user", "content": "Is the sky blue? Answer yes or no."}]


def test_bad_grammars_are_400_and_the_embedded_server_lives_on(tmp_path):
    port = free_port()
    command = [sys.executable, "-m", "ponder", "serve", "--port", str(port), "--store", str(tmp_path / "runs.db")]
    server = start_process_server(command, port, ready_path="/health", wait=180)
    url = f"{server.base_url}/chat/completions"
    try:
        for grammar in ('root ::= "yes', "root ::= nothing", 'answer ::= "x"', 'root ::= root "a"', "root ::= [^\\x00-\\U0010FFFF]"):  # fmt: skip
            body = {
                "model": "single",
                "messages": QUESTION,
                "max_tokens": 8,
                "ponder": {"options": {"grammar": grammar}},
            }
            response = httpx.post(url, json=body, timeout=120)
            assert response.status_code == 400, response.text
            assert response.json()["error"]["param"] == "ponder.options.grammar"
            assert server.process.poll() is None
        good = {"model": "single", "messages": QUESTION, "max_tokens": 8,
                "ponder": {"options": {"grammar": 'root ::= "yes" | "no"'}}}  # fmt: skip
        reply = httpx.post(url, json=good, timeout=300)
        assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"] in ("yes", "no")
    finally:
        stop_process(server.process)
