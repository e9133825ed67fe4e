"""``ponder mcp``: ponder as an MCP server (stdio or streamable HTTP) for coding agents and other MCP clients."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from ..guards.numbers import MAX_SECONDS
from ..models import DEFAULT_MODEL
from .numbers import FiniteFloat, Whole
from .server_start import run_uvicorn, serve_config


@click.command("mcp")
@click.option("--transport", type=click.Choice(["stdio", "http"]), default="stdio", show_default=True,
              help="stdio (the client starts ponder mcp) or streamable HTTP (on --host/--port, path /mcp).")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind with --transport http.")
@click.option("--port", type=Whole(0, 65535), default=8001, show_default=True)
@click.option("--model", "-m", "model_spec", default=DEFAULT_MODEL, show_default=True,
              help="The backend strategies run on: smollm2, gguf:PATH, openai:MODEL or scripted.")  # fmt: skip
@click.option("--base-url", default=None, help="Base URL of the upstream OpenAI-compatible server.")
@click.option("--tools", "tool_spec", default="", help="Tools react gets: calculator,python,search:DIR,...")
@click.option("--allow", "allowed", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="A file or folder the query tool may read (repeat for more; none: query reads nothing).")  # fmt: skip
@click.option("--allow-model", "allow_models", multiple=True, metavar="SPEC",
              help="Another backend ask may name as STRATEGY/SPEC (repeatable), as for ponder serve.")  # fmt: skip
@click.option("--allow-code", is_flag=True,
              help="Let query use recursive code mode (model-written code in the sandbox); else plan mode.")  # fmt: skip
@click.option("--store", "store_path", metavar="FILE|URL", default=None,
              help="Run store (default: $PONDER_STORE or the default file).")  # fmt: skip
@click.option("--no-store", is_flag=True, help="Do not record runs.")
@click.option("--max-concurrent", type=Whole(min=1), default=2, show_default=True, help="Most runs executing at once.")
@click.option("--max-queue", type=Whole(min=0), default=16, show_default=True,
              help="Most calls waiting for a run slot; more are refused.")  # fmt: skip
@click.option("--max-seconds", type=FiniteFloat(min=0, max=MAX_SECONDS, min_open=True), default=300.0,
              show_default=True, help="Each run's time limit.")  # fmt: skip
@click.option("--require-isolation", is_flag=True,
              help="Refuse to start unless model-written code can run under bubblewrap.")  # fmt: skip
def mcp(
    transport: str,
    host: str,
    port: int,
    model_spec: str,
    base_url: str | None,
    tool_spec: str,
    allowed: tuple[Path, ...],
    allow_models: tuple[str, ...],
    allow_code: bool,
    store_path: str | None,
    no_store: bool,
    max_concurrent: int,
    max_queue: int,
    max_seconds: float,
    require_isolation: bool,
) -> None:
    """Serve ponder's strategies as MCP tools: ask (a strategy over a question) and query (a file or folder)."""
    settings = serve_config(
        require_isolation=require_isolation,
        model_spec=model_spec,
        base_url=base_url,
        tool_spec=tool_spec,
        store_path=store_path,
        no_store=no_store,
        allow_models=allow_models,
        max_concurrent=max_concurrent,
        max_queue=max_queue,
        max_seconds=max_seconds,
        allow_code=allow_code,
    )
    from ..mcp_server import McpConfig, PonderTools, build_server

    tools = PonderTools(McpConfig(settings, allow=allowed))
    with _stdout_to_stderr():  # nothing a backend prints while it loads may reach the stdio transport
        tools.warm()  # a bad --model or --store fails here, with one line, not at the first call
    server = build_server(tools)
    if transport == "stdio":
        click.echo(f"ponder mcp: ask and query over {model_spec} on stdio", err=True)
        server.run("stdio")
        return
    import uvicorn

    app = server.streamable_http_app(host=host)
    click.echo(f"ponder mcp: ask and query over {model_spec} on http://{host}:{port}/mcp", err=True)
    run_uvicorn(uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning")), "mcp", host, port)


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """File descriptor 1 points at stderr inside the block (C libraries write there directly)."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
