"""``ponder serve``: an OpenAI-compatible server whose models are ponder's strategies."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from types import FrameType
from typing import Any

import click

from ..engine.prices import PriceTable
from ..errors import ConfigError
from ..guards.numbers import MAX_SECONDS
from ..models import DEFAULT_MODEL
from .numbers import FiniteFloat, Whole
from .server_start import run_uvicorn, serve_config


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--port", type=Whole(0, 65535), default=8000, show_default=True)
@click.option("--model", "-m", "model_spec", default=DEFAULT_MODEL, show_default=True,
              help="The backend strategies run on: smollm2, coder, gguf:PATH, hf:REPO/FILE, openai:MODEL or scripted.")  # fmt: skip
@click.option("--base-url", default=None, help="Base URL of the upstream OpenAI-compatible server.")
@click.option("--tools", "tool_spec", default="", help="Tools react gets: calculator,python,search:DIR,...")
@click.option("--store", "store_path", metavar="FILE|URL", default=None,
              help="Run store: a SQLite file or a postgresql:// URL, which several servers can share"
              " (default: $PONDER_STORE or the default file).")  # fmt: skip
@click.option("--no-store", is_flag=True, help="Do not record runs (GET /v1/runs then finds nothing).")
@click.option("--api-key", default=None, help="Require 'Authorization: Bearer KEY' (default: $PONDER_API_KEY).")
@click.option("--max-concurrent", type=Whole(min=1), default=4, show_default=True,
              help="Most runs executing at once.")  # fmt: skip
@click.option("--max-queue", type=Whole(min=0), default=16, show_default=True,
              help="Most requests waiting for a run slot; more get 429.")  # fmt: skip
@click.option("--max-seconds", type=FiniteFloat(min=0, max=MAX_SECONDS, min_open=True), default=300.0, show_default=True,
              help="Each run's time limit (a request may ask for less).")  # fmt: skip
@click.option("--grace", type=FiniteFloat(min=0, max=MAX_SECONDS), default=30.0, show_default=True,
              help="Seconds SIGTERM lets running requests finish; the rest are stored as interrupted.")  # fmt: skip
@click.option("--prices", "prices_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Prices per model (TOML or JSON, dollars per million tokens): each run's cost in its usage.")  # fmt: skip
@click.option("--require-isolation", is_flag=True,
              help="Refuse to start unless model-written code can run under bubblewrap.")  # fmt: skip
@click.option("--allow-model", "allow_models", multiple=True, metavar="SPEC",
              help="Another backend a request may name as STRATEGY/SPEC (repeatable; openai:* any model of"
              " --base-url). By default only --model.")  # fmt: skip
@click.option("--allow-verifier", "allow_verifiers", multiple=True, metavar="SPEC",
              help="Open an operator-only verifier to requests: python, examples, tests:FILE or grounded:FILE"
              " (repeatable)."
              " judge, contains, regex and agree are always open.")  # fmt: skip
@click.option(
    "--allow-code",
    is_flag=True,
    help="Let requests run recursive code mode (model-written code in the sandbox); else plan mode.",
)
@click.option("--max-models", type=Whole(min=1), default=4, show_default=True,
              help="Most models kept loaded; the least recently used idle one is dropped.")  # fmt: skip
@click.option("--max-calls", type=Whole(min=1), default=512, show_default=True,
              help="Most model calls one request's run may make (a request may ask for fewer).")  # fmt: skip
@click.option("--body-seconds", type=FiniteFloat(min=0, max=MAX_SECONDS, min_open=True), default=30.0,
              show_default=True, help="Longest a client may take to send its request body (408 after).")  # fmt: skip
def serve(
    host: str,
    port: int,
    model_spec: str,
    base_url: str | None,
    tool_spec: str,
    store_path: str | None,
    no_store: bool,
    api_key: str | None,
    max_concurrent: int,
    max_queue: int,
    max_seconds: float,
    grace: float,
    prices_path: str | None,
    require_isolation: bool,
    allow_models: tuple[str, ...],
    allow_verifiers: tuple[str, ...],
    allow_code: bool,
    max_models: int,
    max_calls: int,
    body_seconds: float,
) -> None:
    """Serve every strategy as an OpenAI-compatible model (POST /v1/chat/completions).

    A request sets only what is declared client-safe (its strategy tree, counts within bounds, sampling,
    a smaller budget); files, models, tools, code execution and the store are the operator's, opened
    with the --allow-* flags (see docs/serving.md)."""
    if api_key is None:
        api_key = os.environ.get("PONDER_API_KEY")
        if api_key is not None and not api_key.strip():
            raise ConfigError("PONDER_API_KEY is set but empty (unset it to serve without a key)")
    elif not api_key.strip():
        raise ConfigError("--api-key is empty (leave it out to serve without a key)")
    try:
        import uvicorn

        from ..serve import Server
    except ImportError as exc:  # pragma: no cover - declared dependencies
        raise ConfigError(f"ponder serve needs starlette and uvicorn ({exc.name} is missing)") from None
    config = serve_config(
        require_isolation=require_isolation,
        model_spec=model_spec,
        base_url=base_url,
        tool_spec=tool_spec,
        store_path=store_path,
        no_store=no_store,
        allow_models=allow_models,
        api_key=api_key,
        max_concurrent=max_concurrent,
        max_queue=max_queue,
        max_seconds=max_seconds,
        grace=grace,
        prices=PriceTable.load(prices_path) if prices_path is not None else None,
        allow_verifiers=tuple(v.strip() for v in allow_verifiers if v.strip()),
        allow_code=allow_code,
        max_models=max_models,
        body_seconds=body_seconds,
        max_calls=max_calls,
    )
    ponder_server = Server(config)
    ponder_server.warm()  # a bad --model, --tools or --store is one line here, before the port is taken
    click.echo(f"ponder serve: strategies over {model_spec} on http://{host}:{port}/v1", err=True)
    # uvicorn's own grace (after which it cancels requests with a plain-text 500) comes after ponder's: at
    # --grace the runs still going are interrupted and their clients answered in the OpenAI shape
    server = _uvicorn(
        uvicorn.Config(
            ponder_server.app(), host=host, port=port, log_level="warning", timeout_graceful_shutdown=int(grace) + 30
        ),
        ponder_server,
    )
    # uvicorn drains on SIGTERM/SIGINT, then raises the signal again for the handler it found; with this
    # one in place, a drained server exits 0 instead of dying by the signal
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, _stopped)
    run_uvicorn(server, "serve", host, port)


def _uvicorn(config: Any, ponder_server: Any) -> Any:
    """uvicorn's server, telling ponder's when a signal starts the shutdown (so --grace is ponder's)."""
    import uvicorn

    class Uvicorn(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            with contextlib.suppress(RuntimeError):  # no loop running: nothing is in flight
                loop = asyncio.get_running_loop()
                loop.call_soon_threadsafe(ponder_server.stopping, loop)
            super().handle_exit(sig, frame)

    return Uvicorn(config)


def _stopped(number: int, frame: FrameType | None) -> None:
    """After uvicorn has drained: nothing more to do (the process exits 0)."""
