"""Identical calls once: the completion cache within a run, across runs (--cache), and what it records.

These tests start a process, a server or a real model; the others are in tests/unit/test_cache.py."""

from __future__ import annotations

import json

import pytest

from cache_helpers import ASK, Twice
from ponder import Batch, Engine, Generate, Outcome, RunSpec, open_run
from ponder.engine.call_cache import cache_key
from ponder.models.openai_compat import OpenAIModel
from ponder.requests import StrategyGen
from ponder.store import RunStore
from ponder.types import GenerationOptions, Message, user
from servers import FakeChatServer


def served(server: FakeChatServer) -> OpenAIModel:
    return OpenAIModel("m", base_url=server.url, max_retries=0)


@pytest.mark.integration
def test_identical_temperature_zero_calls_are_made_once() -> None:
    with FakeChatServer() as server:
        result = Engine(served(server)).run(Twice(), "q")
        assert server.requests == 1
        assert result.answer == " | ".join(["echo: What is 2 + 2?"] * 4)
        assert [s.data.get("cached", False) for s in result.steps] == [False, True, True, True]
        assert result.usage.model_calls == 1 and result.usage.cached_calls == 3
        assert result.steps[1].usage.total_tokens == 0
        called = [e for e in result.events if e.type == "model_call"]
        assert [e.data.get("cached", False) for e in called] == [False, True, True, True]
        assert result.to_dict()["usage"]["cached_calls"] == 3


@pytest.mark.integration
def test_a_batch_of_identical_calls_is_made_once() -> None:
    class Pair:
        name = "pair"

        def run(self, question: str) -> StrategyGen:
            pair = yield Batch((Generate.of(ASK), Generate.of(ASK), Generate.of([user("other")])))
            return Outcome(",".join(c.text for c in pair))

    with FakeChatServer() as server:
        result = Engine(served(server)).run(Pair(), "q")
        assert server.requests == 2
        assert result.answer == "echo: What is 2 + 2?,echo: What is 2 + 2?,echo: other"
        assert [s.data.get("cached", False) for s in result.steps] == [False, True, False]


@pytest.mark.integration
def test_sampled_calls_without_a_seed_are_not_cached() -> None:
    with FakeChatServer() as server:
        result = Engine(served(server), options=GenerationOptions(seed=None)).run(Twice(temperature=0.7), "q")
        assert server.requests == 4 and result.usage.cached_calls == 0


@pytest.mark.integration
def test_seeded_sampled_calls_are_cached_per_seed() -> None:
    with FakeChatServer() as server:
        Engine(served(server)).run(Twice(temperature=0.7, seed=3), "q")
        assert server.requests == 1
    a = cache_key("m", ASK, GenerationOptions(temperature=0.7, seed=1))
    assert a != cache_key("m", ASK, GenerationOptions(temperature=0.7, seed=2))
    assert a != cache_key("other", ASK, GenerationOptions(temperature=0.7, seed=1))
    assert a == cache_key("m", (Message("user", "What is 2 + 2?"),), GenerationOptions(temperature=0.7, seed=1))


@pytest.mark.integration
def test_the_cache_can_be_turned_off() -> None:
    with FakeChatServer() as server:
        Engine(served(server), cache=False).run(Twice(), "q")
        assert server.requests == 4


@pytest.mark.integration
def test_each_run_starts_with_an_empty_cache() -> None:
    with FakeChatServer() as server:
        engine = Engine(served(server))
        engine.run(Twice(), "q")
        engine.run(Twice(), "q")
        assert server.requests == 2


def _spec(url: str, store: str, cache: bool) -> RunSpec:
    return RunSpec.from_dict(
        {"models": {"root": {"model": "openai:m", "base_url": url}}, "store": store, "cache": cache}
    )


@pytest.mark.integration
def test_cache_across_runs_lives_in_the_store(tmp_path) -> None:
    store = str(tmp_path / "runs.db")
    with FakeChatServer() as server:
        with open_run(_spec(server.url, store, cache=True)) as opened:
            first = opened.run("Capital of France?")
        with open_run(_spec(server.url, store, cache=True)) as opened:
            second = opened.run("Capital of France?")
        assert server.requests == 1
        assert first.answer == second.answer == "echo: Capital of France?"
        assert second.usage.cached_calls == 1 and second.usage.model_calls == 0
        with open_run(_spec(server.url, store, cache=False)) as opened:
            opened.run("Capital of France?")
        assert server.requests == 2  # without --cache, a new run calls the model
    with RunStore(store) as runs:
        stored = runs.run(second.run_id)
        assert json.loads(json.dumps(stored["usage"]))["cached_calls"] == 1
        calls = [e for e in runs.events(second.run_id) if e["type"] == "model_call"]
        assert calls[0]["data"]["cached"] is True
