"""The operator's options of ponder's front doors (``ponder serve``, ``ponder mcp``), declared once.

A client reaches runs through either server, and both build a client's run with the same policy
(:meth:`~ponder.serve.ServeConfig.policy`). The options that make that config are declared here, so a
flag means the same thing on both doors and a new one is added to both where it applies. A
:class:`Door` holds what differs: defaults (port, concurrency) and the words for a client's call.

:func:`operator_options` adds the options to a command and hands them to it as one
:class:`OperatorFlags` (the parameter ``operator``), whose :meth:`~OperatorFlags.serve_config` checks
``--require-isolation`` and makes the :class:`~ponder.serve.ServeConfig`.

A door keeps its own options where it declares its command: ``ponder serve``'s ``--api-key``,
``--grace`` and ``--body-seconds`` (its HTTP layer) and ``--allow-verifier`` (an MCP client names a
strategy, never a verifier); ``ponder mcp``'s ``--transport`` and ``--allow`` (the query tool's paths).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..guards.numbers import MAX_SECONDS
from ..models import DEFAULT_MODEL
from .numbers import FiniteFloat, Whole

if TYPE_CHECKING:
    from ..serve import ServeConfig

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Door:
    """What differs between the doors: their defaults, and the words their help uses for a client."""

    port: int
    max_concurrent: int
    host_help: str
    #: a client's calls, plural ("requests")
    calls: str
    #: what a call past the queue gets ("get 429")
    refused: str
    #: who may name another backend ("a request")
    namer: str
    #: who may run recursive code mode, with its verb ("requests run")
    coders: str
    #: whether a client may ask for a smaller budget than the operator's (time, model calls)
    client_budget: bool
    #: said after "Do not record runs" (what a client then finds)
    no_store_note: str = ""


@dataclass(frozen=True)
class OperatorFlags:
    """The operator's options as given on the command line (see the module docs)."""

    host: str
    port: int
    model_spec: str
    base_url: str | None
    tool_spec: str
    store_path: str | None
    no_store: bool
    max_concurrent: int
    max_queue: int
    max_seconds: float
    max_calls: int
    max_models: int
    prices_path: str | None
    require_isolation: bool
    allow_models: tuple[str, ...]
    allow_code: bool

    def serve_config(self, **settings: Any) -> ServeConfig:
        """The server's settings from these flags and ``settings`` (a door's own ServeConfig fields); with
        ``--require-isolation``, refuse first unless bubblewrap can run code."""
        from ..engine.prices import PriceTable

        prices = PriceTable.load(self.prices_path) if self.prices_path is not None else None
        if self.require_isolation:
            from ..sandbox import require_isolation_everywhere

            require_isolation_everywhere()
        from ..serve import ServeConfig

        return ServeConfig(
            model=self.model_spec,
            base_url=self.base_url,
            tools=tuple(t.strip() for t in self.tool_spec.split(",") if t.strip()),
            store=self.store_path,
            record=not self.no_store,
            allow_models=tuple(m.strip() for m in self.allow_models if m.strip()),
            max_concurrent=self.max_concurrent,
            max_queue=self.max_queue,
            max_seconds=self.max_seconds,
            max_calls=self.max_calls,
            max_models=self.max_models,
            prices=prices,
            allow_code=self.allow_code,
            **settings,
        )


_NAMES = tuple(f.name for f in fields(OperatorFlags))


def operator_options(door: Door) -> Callable[[F], F]:
    """Add the operator's options (with ``door``'s defaults and words) to a click command; the command
    takes them as one :class:`OperatorFlags`, its parameter ``operator``."""
    fewer = " (a request may ask for fewer)" if door.client_budget else ""
    less = " (a request may ask for less)" if door.client_budget else ""
    # fmt: off
    options = (
        click.option("--host", default="127.0.0.1", show_default=True, help=door.host_help),
        click.option("--port", type=Whole(0, 65535), default=door.port, show_default=True),
        click.option("--model", "-m", "model_spec", default=DEFAULT_MODEL, show_default=True,
                     help="The backend strategies run on: smollm2, coder, gguf:PATH, hf:REPO/FILE, openai:MODEL"
                     " or scripted."),
        click.option("--base-url", default=None, help="Base URL of the upstream OpenAI-compatible server."),
        click.option("--tools", "tool_spec", default="", help="Tools react gets: calculator,python,search:DIR,..."),
        click.option("--store", "store_path", metavar="FILE|URL", default=None,
                     help="Run store: a SQLite file or a postgresql:// URL, which several servers can share"
                     " (default: $PONDER_STORE or the default file)."),
        click.option("--no-store", is_flag=True, help=f"Do not record runs{door.no_store_note}."),
        click.option("--max-concurrent", type=Whole(min=1), default=door.max_concurrent, show_default=True,
                     help="Most runs executing at once."),
        click.option("--max-queue", type=Whole(min=0), default=16, show_default=True,
                     help=f"Most {door.calls} waiting for a run slot; more {door.refused}."),
        click.option("--max-seconds", type=FiniteFloat(min=0, max=MAX_SECONDS, min_open=True), default=300.0,
                     show_default=True, help=f"Each run's time limit{less}."),
        click.option("--max-calls", type=Whole(min=1), default=512, show_default=True,
                     help=f"Most model calls one run may make{fewer}."),
        click.option("--max-models", type=Whole(min=1), default=4, show_default=True,
                     help="Most models kept loaded; the least recently used idle one is dropped."),
        click.option("--prices", "prices_path", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="Prices per model (TOML or JSON, dollars per million tokens): each run's cost in its"
                     " usage."),
        click.option("--require-isolation", is_flag=True,
                     help="Refuse to start unless model-written code can run under bubblewrap."),
        click.option("--allow-model", "allow_models", multiple=True, metavar="SPEC",
                     help=f"Another backend {door.namer} may name as STRATEGY/SPEC (repeatable; openai:* any"
                     " model of --base-url). By default only --model."),
        click.option("--allow-code", is_flag=True,
                     help=f"Let {door.coders} recursive code mode (model-written code in the sandbox); else"
                     " plan mode."),
    )
    # fmt: on

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def taking(**values: Any) -> Any:
            operator = OperatorFlags(**{name: values.pop(name) for name in _NAMES})
            return command(operator=operator, **values)

        for option in reversed(options):  # click lists a command's options in the order they are written
            taking = option(taking)
        return taking  # type: ignore[return-value]

    return decorate
