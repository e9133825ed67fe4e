"""Running uvicorn for ``ponder serve`` and ``ponder mcp`` (their shared flags and the config they make
are :mod:`.operator_flags`)."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError


def run_uvicorn(server: Any, command: str, host: str, port: int) -> None:
    """Run a ``uvicorn.Server`` until it stops; one line if it could not start (the port taken, say)."""
    server.run()
    if server.started is False:
        raise ConfigError(f"ponder {command} could not start on {host}:{port} (see the message above)")
