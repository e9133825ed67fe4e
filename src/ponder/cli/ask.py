"""``ponder ask``: answer one question with a strategy on a model.

The command is a thin shell: its flags become a :class:`~ponder.spec.RunSpec`
(:func:`~ponder.spec.spec_from_flags`; ``--spec FILE`` starts from a stored
spec), which :func:`~ponder.open_run` builds and runs. Every rule about which
flags go together lives in the spec's validation, not here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from ..builder import open_run
from ..events import EventSink
from ..guards.text import for_terminal
from ..spec import RunSpec, spec_from_flags
from ..strategies import entries
from .flag_option import run_flag_option
from .live import LiveView
from .progress import ChunkProgress
from .spec_options import given_flags, spec_options


@click.command()
@click.argument("question", required=False)
@click.option(
    "--spec",
    "spec_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Run the run spec in FILE (JSON, as --dry-run --json prints it); flags given beside it override its fields.",
)
@click.option("--dry-run", is_flag=True, help="Print the run spec and run nothing.")
@click.option("--strategy", "-s", default="single", show_default=True, help=f"One of: {', '.join(entries())}.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the live view.")
@click.option(
    "--require-isolation",
    is_flag=True,
    help="Fail instead of running model-written code unisolated when bubblewrap is unusable.",
)
@run_flag_option("session")
@spec_options()
def ask(
    question: str | None, spec_file: Path | None, dry_run: bool, as_json: bool, require_isolation: bool, **flags: Any
) -> None:
    """Answer QUESTION, showing each pass as it is produced."""
    ctx = click.get_current_context()
    if question is None and spec_file is None:
        raise click.MissingParameter(ctx=ctx, param_hint="'QUESTION'", param_type="argument")
    given = given_flags(ctx)
    base = RunSpec.load(spec_file) if spec_file is not None else None
    spec = spec_from_flags({**flags, "question": question}, given, base)
    if dry_run:
        click.echo(spec.to_json(indent=None if as_json else 2))
        return
    spec.require_question()
    if require_isolation:
        from ..sandbox import require_isolation_everywhere

        require_isolation_everywhere()
    console = Console(stderr=False)
    view = None if as_json else LiveView(console)
    sinks: list[EventSink] = []
    if view is not None:
        sinks.append(view)
        if spec.context is not None:
            sinks.append(ChunkProgress(console))
    with open_run(spec, sinks=sinks, on_text=view.on_text if view else None) as opened:
        result = opened.run()
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    elif view is not None:
        view.summary(result)
        if opened.store is not None:
            click.echo(f"run {result.run_id} stored in {for_terminal(opened.store.path)}")
