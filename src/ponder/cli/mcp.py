"""``ponder mcp``: ponder as an MCP server (stdio or streamable HTTP) for coding agents and other MCP clients."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from .operator_flags import Door, OperatorFlags, operator_options
from .server_start import run_uvicorn

#: ``ponder mcp``'s defaults and words for the operator's options (:mod:`.operator_flags`): the same policy
#: as ``ponder serve``'s; an MCP client names a strategy (ask) or a path (query) and asks no budget
MCP_DOOR = Door(
    port=8001,
    max_concurrent=2,
    host_help="Address to bind with --transport http.",
    calls="calls",
    refused="are refused",
    namer="ask",
    coders="query use",
    client_budget=False,
)


@click.command("mcp")
@click.option("--transport", type=click.Choice(["stdio", "http"]), default="stdio", show_default=True,
              help="stdio (the client starts ponder mcp) or streamable HTTP (on --host/--port, path /mcp).")  # fmt: skip
@operator_options(MCP_DOOR)
@click.option("--allow", "allowed", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="A file or folder the query tool may read (repeat for more; none: query reads nothing).")  # fmt: skip
def mcp(transport: str, operator: OperatorFlags, allowed: tuple[Path, ...]) -> None:
    """Serve ponder's strategies as MCP tools: ask (a strategy over a question) and query (a file or folder)."""
    settings = operator.serve_config()
    from ..mcp_server import McpConfig, PonderTools, build_server

    tools = PonderTools(McpConfig(settings, allow=allowed))
    with _stdout_to_stderr():  # nothing a backend prints while it loads may reach the stdio transport
        tools.warm()  # a bad --model or --store fails here, with one line, not at the first call
    server = build_server(tools)
    model_spec, host, port = operator.model_spec, operator.host, operator.port
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
