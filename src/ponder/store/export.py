"""Training data from stored runs: (question, reasoning trace, answer, outcome) records.

One record per finished top-level run; the trace lists every step in order
(model calls with their output, tool calls with their observation, recorded
decisions), child runs included and marked by depth. The ``chat`` format (the
``messages`` trainers read) is :mod:`.export_chat`; both share the filters of
:func:`finished_runs`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, TypeVar

from .. import steps
from .errors import StoreError
from .rows import StoreWarning
from .sqlite import RunStore

FORMATS = ("jsonl", "chat")
T = TypeVar("T")


def trace(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every step of a run's events in order (model calls, tool calls with their observation, recorded
    steps), each with its run and depth."""
    depth: dict[str, int] = {}
    out: list[dict[str, Any]] = []
    for event in events:
        kind = event["type"]
        if kind == "run_started":
            depth[event["run_id"]] = event.get("depth", 0)
            continue
        base = {"step": event.get("step"), "depth": depth.get(event["run_id"], 0), "run_id": event["run_id"]}
        if kind == "model_call":
            out.append({**base, "kind": event["kind"], "text": event["text"]})
        elif kind == "tool_call":
            observation = event.get("output") or ""
            if event.get("error"):
                observation = (observation + "\n" if observation else "") + f"Error: {event['error']}"
            out.append(
                {
                    **base,
                    "kind": steps.TOOL,
                    "tool": event["tool"],
                    "arguments": event["arguments"],
                    "text": observation,
                }
            )
        elif kind == "step":
            out.append({**base, "kind": event["kind"], "text": event["text"], "data": event.get("data", {})})
    return out


def finished_runs(
    store: RunStore,
    convert: Callable[[str, dict[str, Any], list[dict[str, Any]]], T | None],
    *,
    strategy: str | None = None,
    outcome: str | None = None,
    min_score: float | None = None,
    skipped: list[str] | None = None,
) -> Iterator[T]:
    """``convert(run_id, info, events)`` of each finished top-level run, oldest first, filtered by strategy,
    outcome and score (``min_score``: runs whose recorded outcome has a score of at least that; ``ponder
    eval`` records one per item). A None from ``convert`` leaves the run out.

    A run with a row that cannot be read (edited by hand, damaged) is left out, never half exported: its
    reason goes to ``skipped`` when given, else to a :class:`~ponder.store.sqlite.StoreWarning`; the
    other runs are exported."""
    for root in store.root_ids(strategy=strategy, outcome=outcome, min_score=min_score):
        try:
            info = store.run(root)
            if info["status"] != "finished":
                continue
            converted = convert(root, info, store.events(root))
        except (StoreError, KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = str(exc) if isinstance(exc, StoreError) else f"run {root} has a damaged event ({exc!r})"
            if skipped is None:
                warnings.warn(f"{reason}; not exported", StoreWarning, stacklevel=2)
            else:
                skipped.append(reason)
            continue
        if converted is not None:
            yield converted


def record(root: str, info: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``jsonl`` record of one run: question, reasoning trace, answer, outcome, score, usage."""
    return {
        "run_id": root,
        "question": info["question"],
        "reasoning_trace": trace(events),
        "answer": info["answer"],
        "outcome": info["outcome"] or "unknown",
        "score": info["outcome_score"],
        "strategy": info["strategy"],
        "model": info["model"],
        "stop_reason": info["stop_reason"],
        "usage": info["usage"],
    }


def records(
    store: RunStore,
    *,
    strategy: str | None = None,
    outcome: str | None = None,
    min_score: float | None = None,
    skipped: list[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """The ``jsonl`` records of the finished top-level runs (see :func:`finished_runs` for the filters)."""
    return finished_runs(store, record, strategy=strategy, outcome=outcome, min_score=min_score, skipped=skipped)


def write_jsonl(items: Iterable[dict[str, Any]], stream: IO[str]) -> int:
    """Write ``items`` as JSON lines; returns how many were written."""
    count = 0
    for item in items:
        stream.write(json.dumps(item, ensure_ascii=False) + "\n")
        count += 1
    return count


def export_jsonl(
    store: RunStore,
    stream: IO[str],
    *,
    strategy: str | None = None,
    outcome: str | None = None,
    min_score: float | None = None,
    skipped: list[str] | None = None,
) -> int:
    """Write the records as JSON lines; returns how many were written (see :func:`finished_runs`)."""
    found = records(store, strategy=strategy, outcome=outcome, min_score=min_score, skipped=skipped)
    return write_jsonl(found, stream)
