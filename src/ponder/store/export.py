"""Training data from stored runs: (question, reasoning trace, answer, outcome) records.

One record per finished top-level run; the trace lists every step in order
(model calls with their output, tool calls with their observation, recorded
decisions), child runs included and marked by depth.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import IO, Any

from .. import steps
from .errors import StoreError
from .rows import StoreWarning
from .sqlite import RunStore

FORMATS = ("jsonl",)


def _trace(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    depth: dict[str, int] = {}
    trace: list[dict[str, Any]] = []
    for event in events:
        kind = event["type"]
        if kind == "run_started":
            depth[event["run_id"]] = event.get("depth", 0)
            continue
        base = {"step": event.get("step"), "depth": depth.get(event["run_id"], 0), "run_id": event["run_id"]}
        if kind == "model_call":
            trace.append({**base, "kind": event["kind"], "text": event["text"]})
        elif kind == "tool_call":
            observation = event.get("output") or ""
            if event.get("error"):
                observation = (observation + "\n" if observation else "") + f"Error: {event['error']}"
            trace.append(
                {
                    **base,
                    "kind": steps.TOOL,
                    "tool": event["tool"],
                    "arguments": event["arguments"],
                    "text": observation,
                }
            )
        elif kind == "step":
            trace.append({**base, "kind": event["kind"], "text": event["text"], "data": event.get("data", {})})
    return trace


def records(
    store: RunStore,
    *,
    strategy: str | None = None,
    outcome: str | None = None,
    skipped: list[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """The export records of the finished top-level runs, oldest first, filtered by strategy and outcome.

    A run with a row that cannot be read (edited by hand, damaged) is left out, never half exported: its
    reason goes to ``skipped`` when given, else to a :class:`~ponder.store.sqlite.StoreWarning`; the
    other runs are exported."""
    for root in store.root_ids(strategy=strategy, outcome=outcome):
        try:
            info = store.run(root)
            if info["status"] != "finished":
                continue
            record = {
                "run_id": root,
                "question": info["question"],
                "reasoning_trace": _trace(store.events(root)),
                "answer": info["answer"],
                "outcome": info["outcome"] or "unknown",
                "score": info["outcome_score"],
                "strategy": info["strategy"],
                "model": info["model"],
                "stop_reason": info["stop_reason"],
                "usage": info["usage"],
            }
        except (StoreError, KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = str(exc) if isinstance(exc, StoreError) else f"run {root} has a damaged event ({exc!r})"
            if skipped is None:
                warnings.warn(f"{reason}; not exported", StoreWarning, stacklevel=2)
            else:
                skipped.append(reason)
            continue
        yield record


def export_jsonl(
    store: RunStore,
    stream: IO[str],
    *,
    strategy: str | None = None,
    outcome: str | None = None,
    skipped: list[str] | None = None,
) -> int:
    """Write the records as JSON lines; returns how many were written (see :func:`records` for ``skipped``)."""
    count = 0
    for record in records(store, strategy=strategy, outcome=outcome, skipped=skipped):
        stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count
