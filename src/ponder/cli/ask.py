"""``ponder ask``: answer one question with a strategy on a model."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import IO

import click
from rich.console import Console

from ..budget import Budget
from ..engine import Engine
from ..errors import ConfigError, PonderError
from ..events import EventSink, JsonlTrace
from ..models import DEFAULT_MODEL, load_model
from ..strategies import NEEDS_TOOLS, STRATEGIES, get_strategy
from ..tools import close_tools, parse_tool_specs
from ..types import GenerationOptions
from .live import LiveView

_POSITIVE = click.IntRange(min=1)


@click.command()
@click.argument("question")
@click.option("--strategy", "-s", default="single", show_default=True, help=f"One of: {', '.join(STRATEGIES)}.")
@click.option(
    "--model",
    "-m",
    "model_spec",
    default=DEFAULT_MODEL,
    show_default=True,
    help="smollm2, gguf:PATH, openai:MODEL or scripted.",
)
@click.option("--base-url", default=None, help="Base URL of an OpenAI-compatible server (default: $OPENAI_BASE_URL).")
@click.option("--max-steps", type=_POSITIVE, default=8, show_default=True, help="Most model-call steps in the run.")
@click.option("--max-calls", type=_POSITIVE, default=None, help="Most model calls in the run.")
@click.option("--max-total-tokens", type=_POSITIVE, default=None, help="Most prompt+completion tokens in the run.")
@click.option("--max-seconds", type=click.FloatRange(min=0, min_open=True), default=None, help="Wall-clock limit.")
@click.option("--max-tokens", type=_POSITIVE, default=384, show_default=True, help="Most tokens per model call.")
@click.option("--temperature", "-t", type=click.FloatRange(min=0), default=0.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--tools", "tool_spec", default="", help="Tools for react: calculator,python,search:DIR,http:HOST,mcp:FILE.")
@click.option(
    "--tool-protocol",
    type=click.Choice(["auto", "text", "native"]),
    default="auto",
    show_default=True,
    help="react: text protocol, native tool calls, or native when the backend supports it.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the live view.")
@click.option(
    "--trace",
    "trace_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the run's events as JSON lines to FILE.",
)
def ask(
    question: str,
    strategy: str,
    model_spec: str,
    base_url: str | None,
    max_steps: int,
    max_calls: int | None,
    max_total_tokens: int | None,
    max_seconds: float | None,
    max_tokens: int,
    temperature: float,
    seed: int,
    tool_spec: str,
    tool_protocol: str,
    as_json: bool,
    trace_path: Path | None,
) -> None:
    """Answer QUESTION, showing each pass as it is produced."""
    if not question.strip():
        raise ConfigError("the question is empty")
    if strategy not in STRATEGIES:  # fail on a bad name before loading anything
        get_strategy(strategy)
    if strategy in NEEDS_TOOLS and not tool_spec.strip():
        raise ConfigError(f"--strategy {strategy} needs --tools (e.g. --tools calculator)")
    if tool_spec.strip() and strategy not in NEEDS_TOOLS:
        raise ConfigError(f"--tools needs a strategy that uses tools (--strategy react), not {strategy}")
    budget = Budget(
        max_steps=max_steps, max_model_calls=max_calls, max_tokens=max_total_tokens, max_seconds=max_seconds
    )
    options = GenerationOptions(temperature=temperature, max_tokens=max_tokens, seed=seed)
    with ExitStack() as stack:
        sinks: list[EventSink] = []
        if trace_path is not None:
            sinks.append(JsonlTrace(_open_trace(trace_path, stack)))
        tools = parse_tool_specs(tool_spec) if tool_spec.strip() else []
        stack.callback(close_tools, tools)
        model = load_model(model_spec, base_url=base_url)
        extra = {}
        if strategy in NEEDS_TOOLS:
            extra["native"] = tool_protocol == "native" or (tool_protocol == "auto" and model.supports_tools)
        chosen = get_strategy(strategy, tools=tools, **extra)
        console = Console(stderr=False)
        view = None if as_json else LiveView(console)
        if view is not None:
            sinks.append(view)
        engine = Engine(model, budget=budget, options=options, sinks=sinks, on_text=view.on_text if view else None)
        result = engine.run(chosen, question)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    elif view is not None:
        view.summary(result)


def _open_trace(path: Path, stack: ExitStack) -> IO[str]:
    try:
        return stack.enter_context(path.open("w", encoding="utf-8"))
    except OSError as exc:
        raise PonderError(f"cannot write the trace file {path}: {exc.strerror}") from None
