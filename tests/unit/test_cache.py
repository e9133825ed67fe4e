"""Identical calls once: the completion cache within a run, across runs (--cache), and what it records."""

from __future__ import annotations

import json
from collections.abc import Sequence

from cache_helpers import Twice
from ponder import Engine, ScriptedModel
from ponder.types import Message


def test_a_scripted_reply_queue_is_not_cached_unless_asked() -> None:
    queue = ScriptedModel(["a", "b", "c", "d"])
    assert Engine(queue).run(Twice(), "q").answer == "a | b | c | d"

    def echo(messages: Sequence[Message]) -> str:
        return messages[-1].content

    fn = ScriptedModel(echo, cacheable=True)
    Engine(fn).run(Twice(), "q")
    assert len(fn.calls) == 1


def test_cache_flag_needs_the_store(capsys) -> None:
    from ponder.cli import main

    assert main(["ask", "q", "--model", "scripted", "--cache", "--no-store"]) == 1
    assert "--cache keeps completions in the run store" in capsys.readouterr().err
    assert main(["ask", "q", "--model", "scripted", "--cache", "--dry-run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cache"] is True


class Shelf:
    """A cache behind the run's (as the store is with --cache): a dict."""

    def __init__(self) -> None:
        self.items: dict = {}

    def get(self, key):
        return self.items.get(key)

    def put(self, key, model, completion) -> None:
        self.items[key] = completion


def test_calls_another_run_made_count_as_shared_once() -> None:
    def echo(messages: Sequence[Message]) -> str:
        return messages[-1].content

    shelf, fn = Shelf(), ScriptedModel(echo, cacheable=True)
    first = Engine(fn, cache=shelf).run(Twice(), "q")
    # made once; the repeats are the run's own calls: cached, not shared
    assert (first.usage.model_calls, first.usage.cached_calls, first.usage.shared_calls) == (1, 3, 0)
    second = Engine(fn, cache=shelf).run(Twice(), "q")
    assert (second.usage.model_calls, second.usage.cached_calls) == (0, 4)
    # the first run's call, read from the shelf: shared once (what this run would have paid alone)
    assert (second.usage.shared_calls, second.usage.shared_tokens) == (1, first.usage.total_tokens)
    assert first.usage.total_tokens > 0 and len(fn.calls) == 1
    assert second.usage.to_dict()["shared_calls"] == 1 and "shared_calls" not in first.usage.to_dict()
