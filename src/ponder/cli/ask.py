"""``ponder ask``: answer one question with a strategy on a model."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import click
from rich.console import Console

from .. import telemetry
from ..budget import Budget
from ..engine import Engine
from ..errors import ConfigError, PonderError
from ..events import EventSink, JsonlTrace
from ..models import DEFAULT_MODEL, load_model
from ..strategies import STRATEGIES, close_strategy, get_strategy
from ..strategies.configure import with_memory, with_stop_policy
from ..strategies.recursive import recursive_mode
from ..strategies.recursive_count import plan_for
from ..tools import close_tools, parse_tool_specs
from ..types import GenerationOptions
from .live import LiveView
from .memory_option import memory_options
from .progress import ChunkProgress
from .stop_option import stop_option
from .store_options import open_store, store_options
from .strategy_options import chain_of, default_steps, knob_options, needs_tools, strategy_options

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
@click.option(
    "--tools", "tool_spec", default="", help="Tools for react: calculator,python,search:DIR,http:HOST,mcp:FILE."
)
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
@click.option(
    "--context",
    "context_path",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="A file or folder the question is about (read lazily; implies --strategy recursive).",
)
@click.option(
    "--mode",
    type=click.Choice(["auto", "plan", "code"]),
    default="auto",
    show_default=True,
    help="recursive: a fixed plan (small models) or model-written code.",
)
@click.option(
    "--aggregate",
    type=click.Choice(["auto", "count", "none"]),
    default="auto",
    show_default=True,
    help="recursive plan: count matching records (auto: for 'how many ...' questions) or find an answer (none).",
)
@store_options(writes=True)
@stop_option
@memory_options
@strategy_options
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
    store_path: Path | None = None,
    no_store: bool = False,
    stop: str | None = None,
    context_path: Path | None = None,
    mode: str = "auto",
    aggregate: str = "auto",
    memory_mode: str = "off",
    memory_threshold: float = 0.8,
    **knobs: Any,
) -> None:
    """Answer QUESTION, showing each pass as it is produced."""
    if not question.strip():
        raise ConfigError("the question is empty")
    if context_path is not None and strategy == "single":
        strategy = "recursive"
    if context_path is not None and strategy != "recursive":
        raise ConfigError(f"--context works with --strategy recursive, not {strategy}")
    if strategy not in STRATEGIES:  # fail on a bad name before loading anything
        get_strategy(strategy)
    chain = chain_of(strategy, knobs)
    if needs_tools(chain) and not tool_spec.strip():
        raise ConfigError(f"--strategy {' + '.join(chain)} needs --tools (e.g. --tools calculator)")
    if tool_spec.strip() and not needs_tools(chain):
        raise ConfigError(f"--tools needs a strategy that uses tools (--strategy react), not {strategy}")
    given = click.get_current_context().get_parameter_source
    seed_given = given("seed") is not click.core.ParameterSource.DEFAULT
    knob_extra = knob_options(strategy, knobs, seed=seed if seed_given else None)
    if aggregate != "auto" and context_path is None:
        raise ConfigError("--aggregate needs --context")
    steps: int | None = max_steps
    if given("max_steps") is click.core.ParameterSource.DEFAULT:
        steps = default_steps(strategy, knobs, max_steps)
        plan_mode = mode == "plan" or (mode == "auto" and not model_spec.strip().startswith("openai:"))
        if context_path is not None and plan_mode and plan_for(aggregate, question) == "count":
            steps = None  # the count plan makes one call per record: the records bound the run
    budget = Budget(max_steps=steps, max_model_calls=max_calls, max_tokens=max_total_tokens, max_seconds=max_seconds)
    options = GenerationOptions(temperature=temperature, max_tokens=max_tokens, seed=seed)
    with ExitStack() as stack:
        sinks: list[EventSink] = []
        if trace_path is not None:
            sinks.append(JsonlTrace(_open_trace(trace_path, stack)))
        tools = parse_tool_specs(tool_spec) if tool_spec.strip() else []
        stack.callback(close_tools, tools)
        model = load_model(model_spec, base_url=base_url)
        extra: dict[str, Any] = dict(knob_extra)
        if needs_tools(chain):
            extra["native"] = tool_protocol == "native" or (tool_protocol == "auto" and model.supports_tools)
        if context_path is not None:
            extra.update(context_path=str(context_path), mode=recursive_mode(mode, model))
            if aggregate != "auto":
                extra["aggregate"] = aggregate
        chosen = with_stop_policy(get_strategy(strategy, tools=tools, **extra), stop)
        chosen = with_memory(chosen, memory_mode, memory_threshold, model.context_window)
        stack.callback(close_strategy, chosen)
        store = None if no_store else open_store(store_path, stack)
        if store is not None:
            from ..store import Recipe

            recipe = Recipe.of(
                strategy, model_spec, budget, options, base_url=base_url, tools=tool_spec,
                tool_protocol=tool_protocol, strategy_options=extra, stop=stop,
                memory=None if memory_mode == "off" else {
                    "mode": memory_mode, "threshold": memory_threshold, "window": model.context_window,
                },
            )  # fmt: skip
            sinks.append(store.sink(recipe))
        sinks.extend(telemetry.sinks_from_env())
        console = Console(stderr=False)
        view = None if as_json else LiveView(console)
        if view is not None:
            sinks.append(view)
            if context_path is not None:
                sinks.append(ChunkProgress(console))
        engine = Engine(model, budget=budget, options=options, sinks=sinks, on_text=view.on_text if view else None)
        result = engine.run(chosen, question)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    elif view is not None:
        view.summary(result)
        if store is not None:
            click.echo(f"run {result.run_id} stored in {store.path}")


def _open_trace(path: Path, stack: ExitStack) -> IO[str]:
    try:
        return stack.enter_context(path.open("w", encoding="utf-8"))
    except OSError as exc:
        raise PonderError(f"cannot write the trace file {path}: {exc.strerror}") from None
