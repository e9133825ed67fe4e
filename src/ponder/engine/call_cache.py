"""Identical calls once: a cache of completions for deterministic model calls.

A call is deterministic, and so cacheable, when it samples at temperature 0 or
with a seed (the same seed gives the same sample). Its key is a hash of the
model's name, the messages, the options and the tools offered, so a recursion
or a tree that asks the same sub-question twice pays once. The engine keeps a
:class:`MemoryCache` per run (on unless ``Engine(cache=False)``); with
``--cache`` (``RunSpec.cache``) the run store keeps the completions too, so
later runs reuse them (:class:`StoreCache`). Two identical calls in one batch
are made once. A cached call is recorded like any other, with ``cached: true``
in its data; its usage counts no tokens and no model call, only
``cached_calls``; a call another run made (read from the store, the first time this
run is served it) counts in ``shared_calls`` and ``shared_tokens`` too (what it cost
when it was made): what this run would have paid alone.

Backends whose replies do not follow from the prompt (the scripted fake's reply
queue) say ``cacheable = False``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any, Protocol

from ..types import Completion, GenerationOptions, Message, ToolCall, Usage

if TYPE_CHECKING:
    from ..models.base import Model
    from ..requests import Generate

#: a completion and its seconds, as the engine hands them around
Timed = tuple[Completion, float]


class CompletionCache(Protocol):
    """Where cached completions live (the engine's per-run memory, the run store)."""

    def get(self, key: str) -> Completion | None: ...

    def put(self, key: str, model: str, completion: Completion) -> None: ...


def cacheable(model: Any, options: GenerationOptions) -> bool:
    """Whether a call of ``model`` with ``options`` gives the same reply every time."""
    if not getattr(model, "cacheable", True):
        return False
    return options.temperature == 0 or options.seed is not None


def cache_key(
    model: str, messages: Sequence[Message], options: GenerationOptions, tools: Sequence[dict[str, Any]] = ()
) -> str:
    """The key of one call: a SHA-256 of its model, messages, options and tool schemas."""
    data = [model, [m.to_dict() for m in messages], asdict(options), list(tools)]
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=list)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def lookup(
    cache: MemoryCache | None,
    requests: Sequence[Generate],
    models: Sequence[Model],
    options: Sequence[GenerationOptions],
    served: list[Timed | None],
) -> tuple[list[str | None], set[int], dict[int, int]]:
    """Serve the calls of one engine request that ``cache`` holds, into ``served`` (where replayed results
    already are). Returns each call's key (None: not cacheable), the calls served from the cache, and
    the calls repeating an earlier one of the same batch (-> that one's index), which are not made."""
    keys: list[str | None] = [None] * len(requests)
    cached: set[int] = set()
    followers: dict[int, int] = {}
    if cache is None:
        return keys, cached, followers
    first: dict[str, int] = {}
    for i, (request, model, opts) in enumerate(zip(requests, models, options, strict=True)):
        if served[i] is not None or not cacheable(model, opts):
            continue
        tools = [t.to_openai() for t in request.tools] if request.tools and model.supports_tools else []
        key = keys[i] = cache_key(model.name, request.messages, opts, tools)
        hit, shared = cache.take(key)
        if hit is not None:
            served[i] = (as_cached(hit, shared), 0.0)
            cached.add(i)
        elif key in first:
            followers[i] = first[key]
        else:
            first[key] = i
    return keys, cached, followers


def as_cached(completion: Completion, shared: bool = False) -> Completion:
    """``completion`` as served from the cache: no tokens, no model call, one cached call; ``shared``: another
    run made it (its tokens are counted as shared)."""
    tokens = completion.usage.total_tokens if shared else 0
    return replace(completion, usage=Usage(cached_calls=1, shared_calls=int(shared), shared_tokens=tokens))


def to_data(completion: Completion) -> dict[str, Any]:
    """A completion as plain data (what the store keeps)."""
    return {
        "text": completion.text,
        "finish_reason": completion.finish_reason,
        "model": completion.model,
        "tool_calls": [c.to_dict() for c in completion.tool_calls],
        "usage": completion.usage.to_dict(),
    }


def from_data(data: dict[str, Any]) -> Completion:
    calls = tuple(
        ToolCall(str(c.get("id", "")), str(c["function"]["name"]), str(c["function"].get("arguments", "{}")))
        for c in data.get("tool_calls", ())
    )
    usage = Usage(**{k: v for k, v in data.get("usage", {}).items() if k != "total_tokens"})
    return Completion(str(data["text"]), data.get("finish_reason", "stop"), usage, str(data.get("model", "")), calls)


class MemoryCache:
    """Completions kept in this process (one run's, or a longer-lived engine's)."""

    def __init__(self, backing: CompletionCache | None = None) -> None:
        self._items: dict[str, Completion] = {}
        self._lock = threading.Lock()
        #: a slower cache behind this one (the store), read on a miss and written on every put
        self.backing = backing
        self.hits = 0

    def take(self, key: str) -> tuple[Completion | None, bool]:
        """The completion of ``key`` (None: a miss) and whether it is shared: read from the backing cache, so
        made elsewhere, and served here for the first time (a call made here, or served before, is in memory)."""
        with self._lock:
            found = self._items.get(key)
        shared = False
        if found is None and self.backing is not None:
            found = self.backing.get(key)
            if found is not None:
                with self._lock:
                    shared = key not in self._items  # not put meanwhile by a call of this run
                    self._items.setdefault(key, found)
        if found is not None:
            self.hits += 1
        return found, shared

    def get(self, key: str) -> Completion | None:
        return self.take(key)[0]

    def put(self, key: str, model: str, completion: Completion) -> None:
        with self._lock:
            self._items[key] = completion
        if self.backing is not None:
            self.backing.put(key, model, completion)


class StoreCache:
    """Completions kept in a run store's ``completions`` table, for later runs (``--cache``)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def get(self, key: str) -> Completion | None:
        data = self.store.cached_completion(key)
        return from_data(data) if data is not None else None

    def put(self, key: str, model: str, completion: Completion) -> None:
        self.store.cache_completion(key, model, to_data(completion))
