"""An evaluation: every item under every spec, resumably, on local workers or Ray; then the reports.

:func:`evaluate` is what ``ponder eval`` runs. It skips the (item, spec hash)
pairs ``results.jsonl`` already holds (and, with ``retry_errors``, reruns the
failed ones), runs the rest item by item so partial results stay paired,
records each run in the run store with its outcome, appends its row, and
writes ``summary.json``, ``report.md`` and ``report.png`` at the end — also when
it stops early on too many errors or an interrupt. It refuses to resume into a
folder whose ``eval.json`` keys the items another way (:mod:`.manifest`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import ConfigError, PonderError
from ..extract import number_key
from ..run_models import load_models
from ..store import RunStore
from .arms import Arm
from .data import Item
from .execute import ItemResult, Task
from .local import Backend, Threads, local_backend
from .manifest import check_resume, id_choice, write_manifest
from .report import summarize, write_reports
from .results import ResultsFile, record_run
from .scorers import get_scorer


@dataclass(frozen=True)
class EvalOptions:
    """How to run an evaluation (see ``ponder eval --help``)."""

    out: Path
    scorer: str = "auto"
    workers: int = 1
    #: ``local`` or a Ray cluster address; None: local workers
    ray: str | None = None
    #: Ray tasks in flight at once (default: ``workers`` when more than 1, else the cluster's CPUs)
    in_flight: int | None = None
    retry_errors: bool = False
    #: stop after this many errors (>= 1) or this share of the items run (< 1); None: never
    max_errors: float | None = None
    #: the run store (None: the default; ``record=False``: none)
    store: str | None = None
    record: bool = True
    data: str = ""


class Progress(Protocol):
    """What watches an evaluation (the CLI's progress bar)."""

    def start(self, arms: Sequence[Arm], total: int, skipped: int) -> None: ...

    def row(self, row: dict[str, Any]) -> None: ...

    def stop(self) -> None: ...


class EvalStoppedError(PonderError):
    """The evaluation stopped early (too many errors); the reports hold what finished."""


def pick_scorer(spec: str, items: Sequence[Item]) -> str:
    """``auto``: ``humaneval``/``game24`` for records of those benchmarks (``ponder generate``), else ``number``
    when every gold answer is a number, else ``exact``."""
    if spec != "auto":
        return spec
    if items and all("entry_point" in i.record and "test" in i.record for i in items):
        return "humaneval"
    if items and all("numbers" in i.record for i in items):
        return "game24"
    golds = [i.gold for i in items if i.gold is not None]
    if golds and all(number_key(g) is not None for g in golds):
        return "number"
    return "exact"


def evaluate(
    arms: Sequence[Arm], items: Sequence[Item], options: EvalOptions, progress: Progress | None = None
) -> dict[str, Any]:
    """Run the evaluation (see the module docs) and return its summary."""
    if not arms:
        raise ConfigError("nothing to evaluate: give --strategy or --spec")
    scorer_spec = pick_scorer(options.scorer, items)
    scorer = get_scorer(scorer_spec)
    for item in items:  # an item the scorer cannot score (no gold, no puzzle, no hidden tests) fails now
        scorer.check(item)
    for arm in arms:  # a spec an item's context does not fit fails now, with its one line
        arm.for_item(items[0])
    out = options.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the output folder {out}: {exc.strerror}") from None
    ids = id_choice(items)
    check_resume(out, ids)  # rows keyed another way would all run again
    results = ResultsFile(out / "results.jsonl")
    latest = results.latest()
    todo = [
        Task(arm.name, arm.for_item(item).to_json(), arm.hash, item.to_dict(), scorer_spec, _cache_store(arm, options))
        for item in items
        for arm in arms
        if (item.id, arm.hash) not in latest
        or (options.retry_errors and latest[(item.id, arm.hash)].get("error") is not None)
    ]
    write_manifest(out, arms, options.data, scorer_spec, len(items), ids)
    total = len(items) * len(arms)
    stopped: str | None = None
    errors = finished = 0
    first_errors: list[str | None] = []
    with ExitStack() as stack:
        stack.callback(results.close)
        store = None
        if options.record and todo:
            store = RunStore(options.store)
            stack.callback(store.close)
        backend = _backend(options, arms) if todo else None
        if backend is not None:
            stack.callback(backend.close)
        started = time.perf_counter()  # after the workers started (a Ray cluster takes seconds)
        if progress is not None:
            progress.start(arms, total, total - len(todo))
            stack.callback(progress.stop)
        stream: Iterator[tuple[Task, ItemResult]] = backend.results(iter(todo)) if backend is not None else iter(())
        try:
            for _task, result in stream:
                row = result.row
                if store is not None and result.events:
                    record_run(store, result.events, row, scorer_spec)
                results.append(row)
                latest[(str(row["item"]), str(row["spec_hash"]))] = row
                finished += 1
                errors += row.get("error") is not None
                if progress is not None:
                    progress.row(row)
                if len(first_errors) < SETUP_PROBE:
                    first_errors.append(row.get("error"))
                stopped = _too_many(errors, finished, options.max_errors) or _broken_setup(first_errors)
                if stopped is not None:
                    break
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
            seconds = time.perf_counter() - started
            summary = _summary(arms, items, latest, options, scorer_spec, seconds, finished)
            write_reports(summary, out)
    if stopped is not None:
        raise EvalStoppedError(
            f"stopped early: {stopped}; the report in {out} holds the {finished} items that finished"
        )
    return summary


def _cache_store(arm: Arm, options: EvalOptions) -> str | None:
    """Where ``arm``'s ``--cache`` keeps completions: the evaluation's store, shared by every arm."""
    if not arm.spec.cache or not options.record:
        return None
    return options.store or ""


def _backend(options: EvalOptions, arms: Sequence[Arm]) -> Backend:
    if options.ray is not None:
        from .ray_runner import Ray

        in_flight = options.in_flight or (options.workers if options.workers > 1 else None)
        return Ray(options.ray, in_flight, [arm.spec.to_json() for arm in arms])
    backend = local_backend(options.workers, [arm.spec for arm in arms])
    if isinstance(backend, Threads):  # load each model once now: an unknown model is one line, not N error rows
        for arm in arms:
            load_models(arm.spec, backend.models)
    return backend


#: the first this many items all failing with one error stops the job: the setup is broken, not the items
SETUP_PROBE = 5


def _broken_setup(first: list[str | None]) -> str | None:
    if len(first) != SETUP_PROBE or any(e is None for e in first) or len(set(first)) != 1:
        return None
    return f"the first {SETUP_PROBE} items all failed with: {first[0]}"


def _too_many(errors: int, finished: int, limit: float | None) -> str | None:
    if limit is None or errors == 0:
        return None
    if limit >= 1 and errors >= limit:
        return f"{errors} errors (--max-errors {int(limit)})"
    if limit < 1 and finished >= 10 and errors / finished > limit:
        return f"{errors} errors in {finished} items (--max-errors {limit})"
    return None


def _summary(
    arms: Sequence[Arm],
    items: Sequence[Item],
    latest: dict[tuple[str, str], dict[str, Any]],
    options: EvalOptions,
    scorer: str,
    seconds: float,
    ran: int,
) -> dict[str, Any]:
    summary = summarize(arms, [item.id for item in items], latest)
    done = sum(s["n"] for s in summary["specs"])
    return {
        "data": options.data,
        "scorer": scorer,
        **summary,
        "complete": done == len(items) * len(arms),
        "ran": ran,
        #: from the workers' start to the last row (the report, written next, is not counted)
        "wall_seconds": round(seconds, 3),
        "workers": options.workers if options.ray is None else None,
        "ray": options.ray,
    }
