"""``ponder resume``: continue a stored run that was interrupted or killed."""

from __future__ import annotations

import json
from contextlib import ExitStack

import click
from rich.console import Console

from ..builder import resume as resume_run
from ..guards.text import for_terminal
from .live import LiveView
from .store_options import open_store, store_options


@click.command()
@click.argument("run_id")
@store_options()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the live view.")
@click.option("--force", is_flag=True, help="Resume even though the run's context file changed (recorded).")
def resume(run_id: str, store_path: str | None, as_json: bool, force: bool) -> None:
    """Continue RUN_ID: recorded model and tool results are replayed, the rest runs live."""
    with ExitStack() as stack:
        store = open_store(store_path, stack, existing=True)
        view = None if as_json else LiveView(Console(stderr=False))
        result, replayer = resume_run(
            store,
            run_id,
            sinks=[view] if view is not None else [],
            on_text=view.on_text if view else None,
            force=force,
        )
    if as_json:
        out = result.to_dict()
        out["resumed"] = {"replayed_calls": replayer.replayed_calls, "replayed_tools": replayer.replayed_tools}
        click.echo(json.dumps(out, ensure_ascii=False))
    elif view is not None:
        view.summary(result)
        run = for_terminal(result.run_id, one_line=True)
        click.echo(f"resumed run {run}: {replayer.replayed_calls} model calls replayed from the store")
