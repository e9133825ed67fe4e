"""``ponder runs``: list, show, export and draw the runs in the run store."""

from __future__ import annotations

import json
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import click

from ..errors import PonderError
from .store_options import open_store, store_options


@click.group()
def runs() -> None:
    """Inspect the runs recorded in the run store."""


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else "-"


def _short(text: str | None, width: int) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= width else line[: width - 1] + "…"


@runs.command("list")
@store_options()
@click.option("--limit", "-n", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_runs(store_path: str | None, limit: int, as_json: bool) -> None:
    """List the newest runs."""
    with ExitStack() as stack:
        rows = open_store(store_path, stack).list_runs(limit)
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
            f"{row['run_id']:12}  {_when(row['started']):19}  {row['strategy']:10}  {status:10}"
            f"  {row['model_calls']:>5}  {_short(row['question'], 60)}"
        )


@runs.command("show")
@click.argument("run_id")
@store_options()
@click.option("--json", "as_json", is_flag=True, help="The run's summary and events as one JSON object.")
def show(run_id: str, store_path: str | None, as_json: bool) -> None:
    """Show one run: its answer, stop reason, steps, and how often it was resumed."""
    with ExitStack() as stack:
        store = open_store(store_path, stack)
        info = store.run(run_id)
        events = store.events(run_id)
    if as_json:
        click.echo(json.dumps({**info, "events": events}, ensure_ascii=False))
        return
    click.echo(f"run {info['run_id']}  {info['strategy']} on {info['model']}  status: {info['status']}")
    click.echo(f"question: {info['question']}")
    click.echo(f"started: {_when(info['started'])}   finished: {_when(info['finished'])}")
    for child in info["children"]:
        indent = "  " * child["depth"]
        click.echo(
            f"{indent}child run {child['run_id']} ({child['strategy']}): {child['stop_reason'] or child['status']}"
        )
    click.echo()
    for event in events:
        _print_event(event)
    click.echo()
    click.echo(f"answer: {info['answer'] if info['answer'] is not None else '(no answer)'}")
    click.echo(f"stop reason: {info['stop_reason'] or '-'}" + (f" ({info['detail']})" if info["detail"] else ""))
    usage = info["usage"] or {}
    click.echo(
        f"model calls: {info['model_calls']} recorded (each paid once)   tool calls: {info['tool_calls']}"
        f"   tokens: {usage.get('total_tokens', '-')}"
    )
    for number, resume in enumerate(info["resumes"], 1):
        click.echo(
            f"resume {number} at {_when(resume['time'])}: {resume['replayed_calls']} model calls and"
            f" {resume['replayed_tools']} tool calls replayed from the store"
        )
    if info["outcome"]:
        source = ", ".join(
            part
            for part in (
                info["outcome_source"],
                None if info["outcome_score"] is None else f"score {info['outcome_score']:g}",
            )
            if part
        )
        click.echo(f"outcome: {info['outcome']}" + (f" ({source})" if source else ""))


def _print_event(event: dict[str, Any]) -> None:
    kind = event["type"]
    if kind == "model_call":
        usage = event.get("usage", {})
        click.echo(
            f"  [{event['step']}] {event['kind']}: {_short(event['text'], 90)}"
            f"  ({usage.get('total_tokens', 0)} tokens, {event.get('seconds', 0):.2f}s)"
        )
    elif kind == "tool_call":
        click.echo(f"  [{event['step']}] tool {event['tool']}: {_short(event.get('output') or event.get('error'), 80)}")
    elif kind == "step":
        click.echo(f"  [{event['step']}] {event['kind']}: {_short(event['text'], 90)}")


@runs.command("outcome")
@click.argument("run_id")
@click.argument("outcome", type=click.Choice(["correct", "incorrect", "unknown"]))
@store_options()
@click.option("--source", default="manual", show_default=True, help="Who judged it (a benchmark's name).")
def outcome(run_id: str, outcome: str, store_path: str | None, source: str) -> None:
    """Record whether a run's answer was correct (used by export and the learned stop policy)."""
    with ExitStack() as stack:
        open_store(store_path, stack).set_outcome(run_id, outcome, source)


@runs.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.option("--strategy", "-s", default=None, help="Only runs of this strategy.")
@click.option("--outcome", type=click.Choice(["correct", "incorrect", "unknown"]), default=None)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None, help="File (default: stdout)."
)
@store_options()
def export(fmt: str, strategy: str | None, outcome: str | None, output: Path | None, store_path: str | None) -> None:
    """Write finished runs as (question, reasoning trace, answer, outcome) training records."""
    from ..store.export import export_jsonl

    with ExitStack() as stack:
        store = open_store(store_path, stack)
        stream: IO[str] = sys.stdout
        if output is not None:
            try:
                stream = stack.enter_context(output.open("w", encoding="utf-8"))
            except OSError as exc:
                raise PonderError(f"cannot write {output}: {exc.strerror}") from None
        count = export_jsonl(store, stream, strategy=strategy, outcome=outcome)
    if output is not None:
        click.echo(f"wrote {count} records to {output}")


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
        store = open_store(store_path, stack)
        page = render_html(store.events(run_id), store.run(run_id))
    try:
        output.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise PonderError(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"wrote {output}")


@runs.command("fit-stop")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Policy file.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True)
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
        store = open_store(store_path, stack)
        rows = []
        runs_used = 0
        if strategy == "consistency":
            for run_id in store.root_ids(strategy="consistency"):
                waves = vote_waves(store.events(run_id))
                runs_used += bool(waves)
                rows.extend(wave_rows(waves))
        else:
            for outcome in ("correct", "incorrect"):
                for run_id in store.root_ids(strategy="refine", outcome=outcome):
                    passes = refine_passes(store.events(run_id))
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
