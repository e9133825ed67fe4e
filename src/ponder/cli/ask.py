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
from click.core import ParameterSource
from rich.console import Console

from ..events import EventSink
from ..models import DEFAULT_MODEL
from ..runner import open_run
from ..spec import RunSpec, spec_from_flags
from ..strategies import entries
from .live import LiveView
from .memory_option import memory_options
from .progress import ChunkProgress
from .stop_option import stop_option
from .store_options import store_options
from .strategy_options import strategy_options

_POSITIVE = click.IntRange(min=1)
_MODEL_HELP = "smollm2, gguf:PATH, openai:MODEL or scripted."


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
@click.option(
    "--model",
    "-m",
    "model_spec",
    default=DEFAULT_MODEL,
    show_default=True,
    help=_MODEL_HELP,
)
@click.option("--sub-model", default=None, help="Model of recursive sub-calls (default: --model). " + _MODEL_HELP)
@click.option(
    "--depth-model",
    "depth_models",
    multiple=True,
    metavar="N=MODEL",
    help="Model of recursive sub-calls N levels below the root (depth:N in a spec; over --sub-model). Repeatable.",
)
@click.option("--fast-model", default=None, help="Model of route's fast path (default: --model).")
@click.option("--judge-model", default=None, help="Model of LM verifiers and tree evaluations (default: --model).")
@click.option("--base-url", default=None, help="Base URL of an OpenAI-compatible server (default: $OPENAI_BASE_URL).")
@click.option(
    "--max-steps",
    type=_POSITIVE,
    default=None,
    help="Most model-call steps in the run (default: what the strategy needs, at least 8).",
)
@click.option("--max-calls", type=_POSITIVE, default=None, help="Most model calls in the run.")
@click.option("--max-total-tokens", type=_POSITIVE, default=None, help="Most prompt+completion tokens in the run.")
@click.option("--max-seconds", type=click.FloatRange(min=0, min_open=True), default=None, help="Wall-clock limit.")
@click.option("--max-tokens", type=_POSITIVE, default=384, show_default=True, help="Most tokens per model call.")
@click.option("--temperature", "-t", type=click.FloatRange(min=0), default=0.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--tools", "tool_spec", default="", help="Tools for react: calculator,python,search:DIR,http:HOST,mcp:FILE."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the live view.")
@click.option(
    "--trace",
    "trace_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the run's events as JSON lines to FILE.",
)
@click.option(
    "--context",
    "context_path",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="A file or folder the question is about (read lazily; implies --strategy recursive).",
)
@click.option(
    "--session",
    default=None,
    metavar="NAME",
    help="recursive code mode: keep the REPL and its variables across questions in session NAME (stored).",
)
@store_options(writes=True)
@stop_option
@memory_options
@strategy_options
def ask(question: str | None, spec_file: Path | None, dry_run: bool, as_json: bool, **flags: Any) -> None:
    """Answer QUESTION, showing each pass as it is produced."""
    ctx = click.get_current_context()
    if question is None and spec_file is None:
        raise click.MissingParameter(ctx=ctx, param_hint="'QUESTION'", param_type="argument")
    given = {name for name in ctx.params if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT}
    base = RunSpec.load(spec_file) if spec_file is not None else None
    spec = spec_from_flags({**flags, "question": question}, given, base)
    if dry_run:
        click.echo(spec.to_json(indent=None if as_json else 2))
        return
    spec.require_question()
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
            click.echo(f"run {result.run_id} stored in {opened.store.path}")
