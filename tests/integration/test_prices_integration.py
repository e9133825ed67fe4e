"""Dollar budgets: prices per model, costs a server reports, ``max_usd`` at the one budget gate, and the
cost in results, ``--json``, ``ponder runs show``, eval rows and ``ponder serve``'s usage object.

These tests start a process, a server or a real model; the others are in tests/unit/test_prices.py."""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
import sys

import openai
import pytest

from looper_strategy import Looper
from ponder import Budget, Engine
from ponder.engine.prices import PriceTable, dollars
from ponder.models import smollm2_path
from ponder.models.openai_compat import OpenAIModel
from prices_helpers import run_cli
from servers import FakeChatServer, free_port, start_process_server, stop_process

# -- a real loopback server --------------------------------------------------------


def distinct_words(n):
    counter = itertools.count()
    return lambda body: " ".join(f"w{next(counter)}" for _ in range(n))


@pytest.mark.integration
def test_a_run_on_a_loopback_server_stops_at_max_usd_and_reports_its_cost(capsys, tmp_path):
    prices = tmp_path / "prices.toml"
    prices.write_text('["openai:fake"]\nprompt = 1000\ncompletion = 2000\n')  # $0.001 and $0.002 a token
    store = tmp_path / "runs.db"
    with FakeChatServer(reply=distinct_words(40)) as server:
        code, out, err = run_cli(
            capsys, "ask", "Why is the sky blue?", "-m", "openai:fake", "--base-url", server.url,
            "--strategy", "refine", "--max-steps", "30", "--prices", prices, "--max-usd", "0.5",
            "--store", store, "--json",
        )  # fmt: skip
        bodies = list(server.bodies)
    assert code == 0, err
    data = json.loads(out)
    assert data["stop_reason"] == "budget"
    assert data["detail"].startswith("dollar limit of $0.5 reached")
    cost = data["usage"]["cost"]
    assert 0 < cost <= 0.5
    assert data["usage_by_model"]["openai:fake"]["cost"] == cost
    # the cost is the server's token counts at the table's prices, call by call
    steps = [s for s in data["steps"] if "usage" in s]
    assert len(steps) == len(bodies) >= 2
    for step in steps:
        u = step["usage"]
        assert math.isclose(u["cost"], (u["prompt_tokens"] * 1000 + u["completion_tokens"] * 2000) / 1e6)
    assert math.isclose(sum(s["usage"]["cost"] for s in steps), cost)
    code, out, err = run_cli(capsys, "runs", "show", data["run_id"], "--store", store)
    assert code == 0, err
    assert f"cost: {dollars(cost)}" in out


@pytest.mark.integration
@pytest.mark.parametrize("with_prices", [False, True])
def test_a_server_that_reports_usage_cost_is_charged_that(with_prices, tmp_path):
    prices = PriceTable.parse({"openai:fake": {"prompt": 0, "completion": 0}}) if with_prices else None
    with FakeChatServer(reply=distinct_words(5), cost=0.01) as server:
        model = OpenAIModel("fake", base_url=server.url, api_key="k", timeout=5.0, max_retries=0)
        budget = Budget(max_steps=None, max_usd=0.035)  # the same call each time: not answered from the cache
        engine = Engine(model, budget=budget, prices=prices, on_text=lambda *a: None, cache=False)
        result = engine.run(Looper(), "a question")
        assert server.requests == 4
    assert result.stop_reason == "budget"
    assert math.isclose(result.usage.cost, 0.04)  # the reported $0.01 a call, not the $0 price
    assert result.detail == "dollar limit of $0.035 reached ($0.04 spent)"
    assert all(math.isclose(s.usage.cost, 0.01) for s in result.steps)


@pytest.mark.integration
def test_ponder_serve_reports_the_cost_in_its_usage_object(tmp_path):
    port = free_port()
    with FakeChatServer(cost=0.002) as upstream:
        command = [
            sys.executable, "-m", "ponder", "serve", "--port", str(port), "--store", str(tmp_path / "runs.db"),
            "--model", "openai:up", "--base-url", upstream.url,
        ]  # fmt: skip
        server = start_process_server(command, port, ready_path="/health", wait=60)
        try:
            client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
            reply = client.chat.completions.create(model="refine", messages=[{"role": "user", "content": "Why?"}])
        finally:
            stop_process(server.process)
    calls = reply.model_extra["ponder"]["model_calls"]
    assert calls >= 2
    assert math.isclose(reply.usage.model_extra["cost"], 0.002 * calls)
    assert math.isclose(reply.model_extra["ponder"]["models"]["openai:up"]["cost"], 0.002 * calls)


@pytest.mark.integration
def test_a_refine_run_on_llama_cpps_own_server_stops_at_max_usd(capsys, tmp_path):
    """The same gate against a real model server (llama-cpp-python's, serving SmolLM2): its own token
    counts, priced by the table, stop the run at the dollar limit."""
    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        pytest.skip("llama-cpp-python[server] is not installed")
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path()),
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"]  # fmt: skip
    server = start_process_server(command, port, wait=120)
    prices = tmp_path / "prices.toml"
    prices.write_text('["openai:smollm2"]\nprompt = 100\ncompletion = 400\n')  # $0.0001 and $0.0004 a token
    try:
        code, out, err = run_cli(
            capsys, "ask", "Why is the sky blue?", "-m", "openai:smollm2", "--base-url", server.base_url,
            "--strategy", "refine", "--max-steps", "12", "--max-tokens", "64", "--prices", prices,
            "--max-usd", "0.02", "--no-store", "--json",
        )  # fmt: skip
    finally:
        stop_process(server.process)
    assert code == 0, err
    data = json.loads(out)
    assert data["stop_reason"] == "budget", (data["detail"], data["usage"])
    assert data["detail"].startswith("dollar limit of $0.02 reached")
    used = data["usage"]
    assert math.isclose(used["cost"], (used["prompt_tokens"] * 100 + used["completion_tokens"] * 400) / 1e6)
    assert 0 < used["cost"] <= 0.02
