"""``ponder serve``: an OpenAI-compatible server whose models are ponder's strategies."""

from __future__ import annotations

import os
import signal
from types import FrameType

import click

from ..errors import ConfigError
from ..models import DEFAULT_MODEL
from ..numbers import MAX_SECONDS
from ..prices import PriceTable
from .numbers import FiniteFloat, Whole


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
) -> None:
    """Serve every strategy as an OpenAI-compatible model (POST /v1/chat/completions)."""
    if require_isolation:
        from ..sandbox import require_isolation_everywhere

        require_isolation_everywhere()
    try:
        import uvicorn

        from ..serve import ServeConfig, create_app
    except ImportError as exc:  # pragma: no cover - declared dependencies
        raise ConfigError(f"ponder serve needs starlette and uvicorn ({exc.name} is missing)") from None
    config = ServeConfig(
        model=model_spec,
        base_url=base_url,
        tools=tuple(t.strip() for t in tool_spec.split(",") if t.strip()),
        store=store_path,
        record=not no_store,
        api_key=api_key or os.environ.get("PONDER_API_KEY") or None,
        max_concurrent=max_concurrent,
        max_queue=max_queue,
        max_seconds=max_seconds,
        grace=grace,
        prices=PriceTable.load(prices_path) if prices_path is not None else None,
    )
    app = create_app(config)
    click.echo(f"ponder serve: strategies over {model_spec} on http://{host}:{port}/v1", err=True)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=int(grace) or None)
    )
    # uvicorn drains on SIGTERM/SIGINT, then raises the signal again for the handler it found; with this
    # one in place, a drained server exits 0 instead of dying by the signal
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, _stopped)
    server.run()
    if server.started is False:
        raise ConfigError(f"ponder serve could not start on {host}:{port} (see the message above)")


def _stopped(number: int, frame: FrameType | None) -> None:
    """After uvicorn has drained: nothing more to do (the process exits 0)."""
