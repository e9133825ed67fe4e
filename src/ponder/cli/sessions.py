"""``ponder sessions``: list the REPL sessions of the run store (``ponder ask --session NAME``), or drop one."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack

import click

from ..store.errors import StoreError
from ..store.sessions import SessionStore
from .store_options import open_store, store_options


@click.command()
@click.option("--drop", "drop", metavar="NAME", default=None, help="Forget session NAME (its runs stay stored).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@store_options()
def sessions(drop: str | None, as_json: bool, store_path: str | None) -> None:
    """List the REPL sessions kept for `ponder ask --session NAME`, or drop one."""
    with ExitStack() as stack:
        store = SessionStore(open_store(store_path, stack))
        if drop is not None:
            if not store.drop(drop):
                raise StoreError(f"there is no session {drop!r}")
            click.echo(f"session {drop} dropped")
            return
        rows = store.summary()
        if as_json:
            click.echo(json.dumps(rows))
            return
        if not rows:
            click.echo("no sessions")
            return
        click.echo(f"{'session':<24} {'turns':>5} {'cells':>6}  updated")
        for row in rows:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(row["updated"]))
            click.echo(f"{row['name']:<24} {row['turns']:>5} {row['cells']:>6}  {when}")
