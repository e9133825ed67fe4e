"""One item under one spec: run it, score it, and hand back the result row and the run's events.

:func:`run_item` is what every worker runs (a thread, a process with its own
embedded model, a Ray task on another machine). It never writes anywhere: the
evaluation's driver records the events in its run store and appends the row
to ``results.jsonl``, so a crash loses only the items in flight. A failing run
is a row with an ``error`` (the other items go on); an interrupted run
(Ctrl-C) raises :class:`~ponder.errors.RunInterruptedError` and leaves no row.
"""

from __future__ import annotations

import time
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from typing import Any

from ..builder import open_run
from ..engine.budget import Cancellation
from ..engine.call_cache import StoreCache
from ..errors import ConfigError, PonderError, RunInterruptedError
from ..events import Event, RunFinished, RunStarted
from ..run_models import ModelCache
from ..spec import RunSpec
from ..store import RunStore
from ..types import Usage
from .data import Item
from .score import Score
from .scorers import get_scorer

#: the fields of a results row, in order
ROW_FIELDS = (
    "item",
    "spec",
    "spec_hash",
    "answer",
    "gold",
    "score",
    "correct",
    "score_detail",
    "stop_reason",
    "model_calls",
    "prompt_tokens",
    "completion_tokens",
    "evaluated_tokens",
    "shared_calls",
    "shared_tokens",
    "cost",
    "seconds",
    "run_id",
    "error",
)


@dataclass(frozen=True, slots=True)
class Task:
    """What a worker receives: the arm (name, spec as JSON, its hash), the item and the scorer's spec.

    ``cache_store`` is where the arm's ``--cache`` keeps completions (the evaluation's store: a SQLite
    path, a ``postgresql://`` URL, or "" for the default store); None: no cache beyond the run's own.
    Every arm and item of an evaluation share it, so an arm that repeats another's deterministic call
    (``verify``'s first draft is ``single``'s answer) reads it instead of making it again.
    """

    arm: str
    spec_json: str
    spec_hash: str
    item: dict[str, Any]
    scorer: str
    cache_store: str | None = None

    @property
    def item_id(self) -> str:
        return str(self.item["id"])


@dataclass
class ItemResult:
    """A worker's answer: the results row and every event of the run (child runs included)."""

    row: dict[str, Any]
    events: list[Event] = field(default_factory=list)


def run_item(task: Task, models: ModelCache | None = None, cancellation: Cancellation | None = None) -> ItemResult:
    """Run and score ``task`` (see the module docs); ``models`` keeps loaded models across items."""
    item = Item.from_dict(task.item)
    spec = RunSpec.from_json(task.spec_json)
    events: list[Event] = []

    def sink(event: Event) -> None:
        events.append(event)

    started = time.perf_counter()
    answer: str | None = None
    stop_reason = "error"
    usage = Usage()
    error: str | None = None
    score = Score(0.0, False, "error")
    try:
        scorer = get_scorer(task.scorer)
        with ExitStack() as stack:
            cache = None
            if task.cache_store is not None:
                store = stack.enter_context(closing(RunStore(task.cache_store or None)))
                cache = StoreCache(store)
            opened = stack.enter_context(open_run(spec, sinks=[sink], models=models, cache=cache))
            try:
                result = opened.run(cancellation=cancellation)
            except RunInterruptedError:
                raise
            except PonderError as exc:
                error = _line(exc)
            else:
                answer, stop_reason, usage = result.answer, result.stop_reason, result.usage
                judge = opened.models.get("judge", opened.models["root"]) if scorer.needs_judge else None
                try:
                    score = scorer.score(answer, item, judge)
                except PonderError as exc:
                    error = f"scoring: {_line(exc)}"
    except RunInterruptedError:
        raise
    except ConfigError as exc:
        error = _line(exc)
    except PonderError as exc:
        error = _line(exc)
    except Exception as exc:  # a failing item never ends the evaluation; its row says what happened
        error = f"{type(exc).__name__}: {_line(exc)}"
    seconds = time.perf_counter() - started
    if error is not None:
        usage = _usage_of(events) or usage
        score = Score(0.0, False, "error")
    row = {
        "item": item.id,
        "spec": task.arm,
        "spec_hash": task.spec_hash,
        "answer": answer,
        "gold": item.gold,
        "score": score.score,
        "correct": score.correct,
        "score_detail": score.detail,
        "stop_reason": stop_reason,
        "model_calls": usage.model_calls,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "evaluated_tokens": usage.prompt_tokens_evaluated,
        # calls another arm (or an earlier run) had made, served from the evaluation's cache: what the arm
        # would have paid alone but this evaluation did not pay again
        "shared_calls": usage.shared_calls,
        "shared_tokens": usage.shared_tokens,
        "cost": None if usage.cost is None else round(usage.cost, 12),  # US dollars, where known
        "seconds": round(seconds, 4),
        "run_id": _root_run(events),
        "error": error,
    }
    return ItemResult(row, events)


def error_result(task: Task, message: str) -> ItemResult:
    """The row of an item whose worker was lost (no run to show for it)."""
    item = Item.from_dict(task.item)
    row = dict.fromkeys(ROW_FIELDS)
    row.update(item=item.id, spec=task.arm, spec_hash=task.spec_hash, gold=item.gold, score=0.0, correct=False)
    row.update(score_detail="error", stop_reason="error", error=message, seconds=0.0)
    row.update(model_calls=0, prompt_tokens=0, completion_tokens=0, evaluated_tokens=0, shared_calls=0, shared_tokens=0)
    return ItemResult(row)


def _line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _root_run(events: list[Event]) -> str | None:
    return next((e.run_id for e in events if isinstance(e, RunStarted) and e.parent_run_id is None), None)


def _usage_of(events: list[Event]) -> Usage | None:
    root = _root_run(events)
    return next((e.usage for e in events if isinstance(e, RunFinished) and e.run_id == root), None)
