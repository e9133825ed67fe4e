"""The run-spec flags shared by ``ponder ask`` and ``ponder eval``: models by role, budget (and prices), generation options,
tools, context, store, stop policy, memory and every registered strategy's own flags.

:func:`given_flags` names the flags a user gave (for :func:`~ponder.spec.spec_from_flags` over a ``--spec`` base).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from ..engine.budget import MAX_USD
from ..guards.numbers import MAX_SECONDS
from ..models import DEFAULT_MODEL
from ..models.servers import SERVER_KINDS
from .memory_option import memory_options
from .numbers import COUNT, FiniteFloat, Whole
from .stop_option import stop_option
from .store_options import store_options
from .strategy_options import strategy_options

F = TypeVar("F", bound=Callable[..., Any])

_POSITIVE = COUNT
_MODEL_HELP = "smollm2, coder, gguf:PATH, hf:REPO/FILE, openai:MODEL or scripted."


def spec_options(*, trace: bool = True) -> Callable[[F], F]:
    """Add the run-spec flags (``--strategy`` is each command's own); ``trace=False`` leaves out ``--trace``."""

    def decorate(func: F) -> F:
        for option in reversed(_options(trace)):
            func = option(func)
        return func

    return decorate


def given_flags(ctx: click.Context) -> set[str]:
    """The parameters of ``ctx`` the user gave (not left at their defaults)."""
    return {name for name in ctx.params if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT}


def _options(trace: bool) -> list[Callable[[Any], Any]]:
    options: list[Callable[[Any], Any]] = [
        click.option("--model", "-m", "model_spec", default=DEFAULT_MODEL, show_default=True, help=_MODEL_HELP),
        click.option(
            "--sub-model", default=None, help="Model of recursive sub-calls (default: --model). " + _MODEL_HELP
        ),
        click.option(
            "--depth-model",
            "depth_models",
            multiple=True,
            metavar="N=MODEL",
            help="Model of recursive sub-calls N levels below the root (depth:N in a spec; over --sub-model). "
            "Repeatable.",
        ),
        click.option("--fast-model", default=None, help="Model of route's fast path (default: --model)."),
        click.option(
            "--judge-model", default=None, help="Model of LM verifiers, tree evaluations and judges (default: --model)."
        ),
        click.option(
            "--base-url", default=None, help="Base URL of an OpenAI-compatible server (default: $OPENAI_BASE_URL)."
        ),
        click.option(
            "--server-kind",
            type=click.Choice(SERVER_KINDS),
            default=None,
            help="What the server at --base-url is (default auto: probed once): grammars, tool calls and windows follow it.",
        ),
        click.option(
            "--context-window",
            type=click.IntRange(min=16, max=1 << 30),
            default=None,
            help="The model's window in tokens where the server reports none (default: reported, else 8192).",
        ),
        click.option(
            "--max-steps",
            type=_POSITIVE,
            default=None,
            help="Most model-call steps in the run (default: what the strategy needs, at least 8).",
        ),
        click.option("--max-calls", type=_POSITIVE, default=None, help="Most model calls in the run."),
        click.option(
            "--max-total-tokens", type=_POSITIVE, default=None, help="Most prompt+completion tokens in the run."
        ),
        click.option(
            "--max-seconds",
            type=FiniteFloat(min=0, max=MAX_SECONDS, min_open=True),
            default=None,
            help="Wall-clock limit.",
        ),
        click.option(
            "--max-usd",
            type=FiniteFloat(min=0, max=MAX_USD, min_open=True),
            default=None,
            help="Most US dollars the run may spend (needs a price per model, --prices, or a server reporting usage.cost).",
        ),
        click.option(
            "--prices",
            "prices_path",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            default=None,
            help="Prices per model (TOML or JSON, dollars per million prompt/completion/cached tokens): the run's cost.",
        ),
        click.option(
            "--max-tokens", type=_POSITIVE, default=384, show_default=True, help="Most tokens per model call."
        ),
        click.option("--temperature", "-t", type=FiniteFloat(min=0), default=0.0, show_default=True),
        click.option("--seed", type=Whole(), default=0, show_default=True),
        click.option(
            "--tools", "tool_spec", default="", help="Tools for react: calculator,python,search:DIR,http:HOST,mcp:FILE."
        ),
        click.option(
            "--cache",
            is_flag=True,
            default=False,
            help="Reuse the completions of identical deterministic calls from earlier runs (kept in the run store).",
        ),
    ]
    if trace:
        options.append(
            click.option(
                "--trace",
                "trace_path",
                type=click.Path(dir_okay=False, path_type=Path),
                default=None,
                help="Write the run's events as JSON lines to FILE.",
            )
        )
    options.append(
        click.option(
            "--context",
            "context_path",
            type=click.Path(exists=True, path_type=Path),
            default=None,
            help="A file or folder the question is about (read lazily; implies --strategy recursive).",
        )
    )
    options.extend([store_options(writes=True), stop_option, memory_options, strategy_options])
    return options
