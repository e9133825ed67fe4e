"""What ``ponder serve`` and ``ponder mcp`` share when they start: the isolation check, the
:class:`~ponder.serve.ServeConfig` from their common flags, and running uvicorn."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..serve import ServeConfig


def serve_config(
    *,
    require_isolation: bool,
    model_spec: str,
    base_url: str | None,
    tool_spec: str,
    store_path: str | None,
    no_store: bool,
    allow_models: tuple[str, ...],
    **settings: Any,
) -> ServeConfig:
    """The server's settings from the flags both commands take (``settings``: the other ServeConfig
    fields as they are); with ``--require-isolation``, refuse first unless bubblewrap can run code."""
    if require_isolation:
        from ..sandbox import require_isolation_everywhere

        require_isolation_everywhere()
    from ..serve import ServeConfig

    return ServeConfig(
        model=model_spec,
        base_url=base_url,
        tools=tuple(t.strip() for t in tool_spec.split(",") if t.strip()),
        store=store_path,
        record=not no_store,
        allow_models=tuple(m.strip() for m in allow_models if m.strip()),
        **settings,
    )


def run_uvicorn(server: Any, command: str, host: str, port: int) -> None:
    """Run a ``uvicorn.Server`` until it stops; one line if it could not start (the port taken, say)."""
    server.run()
    if server.started is False:
        raise ConfigError(f"ponder {command} could not start on {host}:{port} (see the message above)")
