"""``ponder models``: which backends this machine can use."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from ..guards.text import terminal_text
from ..models import list_backends


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def models(as_json: bool) -> None:
    """List the model backends and whether each is available."""
    backends = list_backends()
    if as_json:
        click.echo(json.dumps([{"spec": b.spec, "available": b.available, "detail": b.detail} for b in backends]))
        return
    table = Table("model", "available", "detail")
    for b in backends:
        # a plugin's spec and detail are not ponder's text: shown literally (ponder.guards.text)
        table.add_row(terminal_text(b.spec, one_line=True), "yes" if b.available else "no", terminal_text(b.detail))
    Console().print(table)
