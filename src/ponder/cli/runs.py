"""``ponder runs``: list, show, export and draw the runs in the run store."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import IO, Any, TypeVar

import click

from ..engine.prices import cost_line, dollars
from ..errors import PonderError
from ..guards.text import for_terminal
from ..store import RunStore, StoreError
from .numbers import COUNT, FiniteFloat
from .store_options import open_store, store_options

T = TypeVar("T")


@click.group()
def runs() -> None:
    """Inspect the runs recorded in the run store."""


def _when(stamp: object) -> str:
    if isinstance(stamp, bool) or not isinstance(stamp, int | float) or not stamp:
        return "-"
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))
    except (OverflowError, OSError, ValueError):  # a time edited by hand
        return "-"


def _short(text: object, width: int) -> str:
    """Stored text (from a model, a tool, a user) as one neutralised line of at most ``width`` characters."""
    line = _shown(text, one_line=True)
    return line if len(line) <= width else line[: width - 1] + "…"


def _shown(text: object, *, one_line: bool = False) -> str:
    """Stored text, safe for a terminal (see :func:`ponder.guards.text.for_terminal`); None is ``-``."""
    return "-" if text is None else for_terminal(text, one_line=one_line)


@runs.command("list")
@store_options()
@click.option("--limit", "-n", type=COUNT, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_runs(store_path: str | None, limit: int, as_json: bool) -> None:
    """List the newest runs."""
    with ExitStack() as stack:
        rows = open_store(store_path, stack, readonly=True).list_runs(limit)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        click.echo("no runs recorded yet")
        return
    click.echo(f"{'RUN':12}  {'STARTED':19}  {'STRATEGY':10}  {'STATUS':10}  {'CALLS':>5}  QUESTION")
    for row in rows:
        status = row["stop_reason"] if row["status"] == "finished" else row["status"]
        click.echo(
            f"{_short(row['run_id'], 12):12}  {_when(row['started']):19}  {_short(row['strategy'], 10):10}"
            f"  {_short(status, 10):10}  {row['model_calls']:>5}  {_short(row['question'], 60)}"
        )


@runs.command("show")
@click.argument("run_id")
@store_options()
@click.option("--json", "as_json", is_flag=True, help="The run's summary and events as one JSON object.")
def show(run_id: str, store_path: str | None, as_json: bool) -> None:
    """Show one run: its answer, stop reason, steps, and how often it was resumed."""
    with ExitStack() as stack:
        store = open_store(store_path, stack, readonly=True)
        info = store.run(run_id)
        events = store.events(run_id, skip_bad=True)  # a damaged row is reported, the rest is shown
    if as_json:
        click.echo(json.dumps({**info, "events": events}, ensure_ascii=False))
        return
    click.echo(
        f"run {_short(info['run_id'], 40)}  {_short(info['strategy'], 40)} on {_short(info['model'], 80)}"
        f"  status: {_short(info['status'], 20)}"
    )
    click.echo(f"question: {_shown(info['question'])}")
    click.echo(f"started: {_when(info['started'])}   finished: {_when(info['finished'])}")
    for child in info["children"]:
        indent = "  " * min(int(child["depth"]) if isinstance(child["depth"], int) else 0, 20)
        click.echo(
            f"{indent}child run {_short(child['run_id'], 40)} ({_short(child['strategy'], 40)}):"
            f" {_short(child['stop_reason'] or child['status'], 40)}"
        )
    click.echo()
    for event in events:
        _print_event(event)
    click.echo()
    click.echo(f"answer: {_shown(info['answer']) if info['answer'] is not None else '(no answer)'}")
    click.echo(
        f"stop reason: {_short(info['stop_reason'], 40)}"
        + (f" ({_short(info['detail'], 200)})" if info["detail"] else "")
    )
    usage = info["usage"] or {}
    click.echo(
        f"model calls: {info['model_calls']} recorded (each paid once)   tool calls: {info['tool_calls']}"
        f"   tokens: {_short(usage.get('total_tokens', '-'), 20)}"
    )
    cost = _cost(usage, events, info["run_id"])
    if cost is not None:
        click.echo(f"cost: {_short(cost, 400)}")
    for number, resume in enumerate(info["resumes"], 1):
        click.echo(
            f"resume {number} at {_when(resume['time'])}: {resume['replayed_calls']} model calls and"
            f" {resume['replayed_tools']} tool calls replayed from the store"
        )
    if info["outcome"]:
        score = info.get("outcome_score")
        source = ", ".join(
            part
            for part in (
                _short(info["outcome_source"], 80) if info["outcome_source"] else None,
                None if not isinstance(score, int | float) else f"score {score:g}",
            )
            if part
        )
        click.echo(f"outcome: {_short(info['outcome'], 20)}" + (f" ({source})" if source else ""))


def _cost(usage: dict[str, Any], events: list[dict[str, Any]], run_id: str) -> str | None:
    """The run's cost, per model when it used several (from its ``run_finished`` event); None: no known cost."""
    total = usage.get("cost")
    if isinstance(total, bool) or not isinstance(total, int | float):
        return None
    finished = next((e for e in events if e.get("type") == "run_finished" and e.get("run_id") == run_id), {})
    by_model = finished.get("by_model")
    costs: dict[str, float | None] = {}
    if isinstance(by_model, dict):
        for name, used in by_model.items():
            cost = used.get("cost") if isinstance(used, dict) else None
            costs[str(name)] = float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None
    return cost_line(float(total), costs)


def _print_event(event: dict[str, Any]) -> None:
    kind = event["type"]
    step, what = _short(event.get("step"), 12), _short(event.get("kind"), 40)
    if kind == "model_call":
        usage = event.get("usage")
        tokens = usage.get("total_tokens", 0) if isinstance(usage, dict) else 0
        seconds = event.get("seconds", 0)
        took = f"{seconds:.2f}s" if isinstance(seconds, int | float) else "-"
        cost = usage.get("cost") if isinstance(usage, dict) else None
        if isinstance(cost, int | float) and not isinstance(cost, bool):
            took += f", {dollars(float(cost))}"
        click.echo(f"  [{step}] {what}: {_short(event.get('text'), 90)}  ({_short(tokens, 20)} tokens, {took})")
    elif kind == "tool_call":
        click.echo(
            f"  [{step}] tool {_short(event.get('tool'), 40)}: {_short(event.get('output') or event.get('error'), 80)}"
        )
    elif kind == "step":
        click.echo(f"  [{step}] {what}: {_short(event.get('text'), 90)}")


@runs.command("outcome")
@click.argument("run_id")
@click.argument("outcome", type=click.Choice(["correct", "incorrect", "unknown"]))
@store_options()
@click.option("--source", default="manual", show_default=True, help="Who judged it (a benchmark's name).")
def outcome(run_id: str, outcome: str, store_path: str | None, source: str) -> None:
    """Record whether a run's answer was correct (used by export and the learned stop policy)."""
    with ExitStack() as stack:
        open_store(store_path, stack, existing=True).set_outcome(run_id, outcome, source)


@runs.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "chat"]),
    default="jsonl",
    show_default=True,
    help="jsonl: ponder's records (question, reasoning trace, answer, outcome); chat: the messages JSONL of"
    " OpenAI fine-tuning and TRL.",
)
@click.option("--strategy", "-s", default=None, help="Only runs of this strategy.")
@click.option("--outcome", type=click.Choice(["correct", "incorrect", "unknown"]), default=None)
@click.option(
    "--min-score",
    type=FiniteFloat(),
    default=None,
    help="Only runs whose recorded score is at least this (ponder eval records one per item; 1: correct ones).",
)
@click.option(
    "--reasoning",
    type=click.Choice(["think", "none"]),
    default="think",
    show_default=True,
    help="chat: the steps of a question-answer run as a <think> block before the answer, or the answer alone.",
)
@click.option("--metadata", is_flag=True, help="chat: add a ponder object (run id, strategy, outcome, score).")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None, help="File (default: stdout)."
)
@store_options()
def export(
    fmt: str,
    strategy: str | None,
    outcome: str | None,
    min_score: float | None,
    reasoning: str,
    metadata: bool,
    output: Path | None,
    store_path: str | None,
) -> None:
    """Write finished runs as training records: ponder's own (jsonl) or chat messages (chat)."""
    from ..store.export import export_jsonl
    from ..store.export_chat import Reasoning, export_chat

    given = click.get_current_context().get_parameter_source
    if fmt != "chat":
        for name in ("reasoning", "metadata"):
            if given(name) is not click.core.ParameterSource.DEFAULT:
                raise click.UsageError(f"--{name} applies to --format chat")
    with ExitStack() as stack:
        store = open_store(store_path, stack, readonly=True)
        stream: IO[str] = sys.stdout
        if output is not None:
            try:
                stream = output.open("w", encoding="utf-8")
            except OSError as exc:
                raise PonderError(f"cannot write {output}: {exc.strerror}") from None
            stack.callback(_close_quietly, stream)
        skipped: list[str] = []
        filters: dict[str, Any] = {"strategy": strategy, "outcome": outcome, "min_score": min_score}
        try:
            if fmt == "chat":
                shape: Reasoning = "think" if reasoning == "think" else "none"
                count = export_chat(store, stream, reasoning=shape, metadata=metadata, skipped=skipped, **filters)
            else:
                count = export_jsonl(store, stream, skipped=skipped, **filters)
            stream.flush()
        except OSError as exc:
            if output is None:
                raise  # stdout: reported by the CLI's one line
            raise PonderError(f"cannot write {output}: {exc.strerror or exc}") from None
    for reason in skipped:
        click.echo(f"ponder: warning: {for_terminal(reason, one_line=True)}; not exported", err=True)
    if output is not None:
        note = f" ({len(skipped)} unreadable runs skipped)" if skipped else ""
        click.echo(f"wrote {count} records to {for_terminal(output)}{note}")


def _close_quietly(stream: IO[str]) -> None:
    with suppress(OSError):  # the write that failed was reported
        stream.close()


@runs.command("html")
@click.argument("run_id")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True, help="HTML file to write."
)
@store_options()
def html(run_id: str, output: Path, store_path: str | None) -> None:
    """Write RUN_ID as one self-contained HTML page (a tree of its steps, each expandable)."""
    from ..viewer import render_html

    with ExitStack() as stack:
        store = open_store(store_path, stack, readonly=True)
        page = render_html(store.events(run_id, skip_bad=True), store.run(run_id))
    try:
        output.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise PonderError(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"wrote {for_terminal(output)}")


@runs.command("fit-stop")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Policy file.")
@click.option("--threshold", type=FiniteFloat(0, 1), default=0.5, show_default=True)
@click.option(
    "--strategy",
    type=click.Choice(["refine", "consistency"]),
    default="refine",
    show_default=True,
    help="The runs to learn from, and the strategy the policy is for.",
)
@store_options()
def fit_stop(output: Path, threshold: float, strategy: str, store_path: str | None) -> None:
    """Fit a learned stop policy from stored runs: refine runs with a recorded outcome, or consistency runs
    (a wave is labelled by whether stopping there changes the vote; no outcome needed)."""
    from ..stop import fit, refine_passes, rows_from_outcome, vote_waves, wave_rows

    with ExitStack() as stack:
        store = open_store(store_path, stack, readonly=True)
        rows = []
        runs_used = 0
        if strategy == "consistency":
            for run_id in store.root_ids(strategy="consistency"):
                waves = _read_or_skip(store, run_id, vote_waves)
                runs_used += bool(waves)
                rows.extend(wave_rows(waves))
        else:
            for outcome in ("correct", "incorrect"):
                for run_id in store.root_ids(strategy="refine", outcome=outcome):
                    passes = _read_or_skip(store, run_id, refine_passes)
                    if passes:
                        runs_used += 1
                        rows.extend(rows_from_outcome(passes, outcome == "correct"))
    if not rows and strategy == "consistency":
        raise PonderError("no consistency runs with waves to learn from (record some with --no-adaptive)")
    if not rows:
        raise PonderError("no refine runs with a recorded outcome (ponder runs outcome RUN_ID correct|incorrect)")
    fit(rows, threshold=threshold, state="consistency" if strategy == "consistency" else "refine").save(output)
    unit = "waves" if strategy == "consistency" else "passes"
    click.echo(f"fitted on {len(rows)} {unit} of {runs_used} runs; wrote {output} (use: --stop learned:{output})")


def _read_or_skip(store: RunStore, run_id: str, read: Callable[[list[dict[str, Any]]], list[T]]) -> list[T]:
    """``read`` of a run's events, or nothing (with one warning line) when a row of it is damaged: one bad
    run does not stop learning from the others."""
    try:
        return read(store.events(run_id))
    except (StoreError, KeyError, TypeError, ValueError, AttributeError) as exc:
        why = str(exc) if isinstance(exc, StoreError) else f"run {run_id} has a damaged event ({exc!r})"
        click.echo(f"ponder: warning: {for_terminal(why, one_line=True)}; run not used", err=True)
        return []
