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
