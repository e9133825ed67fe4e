"""``ponder serve``: an OpenAI-compatible server whose models are ponder's strategies."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from types import FrameType
from typing import Any

import click

from ..errors import ConfigError
from ..guards.numbers import MAX_SECONDS
from .numbers import FiniteFloat
from .operator_flags import Door, OperatorFlags, operator_options
from .server_start import run_uvicorn

#: ``ponder serve``'s defaults and words for the operator's options (:mod:`.operator_flags`)
SERVE_DOOR = Door(
    port=8000,
    max_concurrent=4,
    host_help="Address to bind (loopback by default).",
    calls="requests",
    refused="get 429",
    namer="a request",
    coders="requests run",
    client_budget=True,
    no_store_note=" (GET /v1/runs then finds nothing)",
)


@click.command()
@operator_options(SERVE_DOOR)
@click.option("--allow-verifier", "allow_verifiers", multiple=True, metavar="SPEC",
              help="Open an operator-only verifier to requests: python, examples, tests:FILE or grounded:FILE"
              " (repeatable)."
              " judge, contains, regex and agree are always open.")  # fmt: skip
@click.option("--api-key", default=None, help="Require 'Authorization: Bearer KEY' (default: $PONDER_API_KEY).")
@click.option("--grace", type=FiniteFloat(min=0, max=MAX_SECONDS), default=30.0, show_default=True,
              help="Seconds SIGTERM lets running requests finish; the rest are stored as interrupted.")  # fmt: skip
@click.option("--body-seconds", type=FiniteFloat(min=0, max=MAX_SECONDS, min_open=True), default=30.0,
              show_default=True, help="Longest a client may take to send its request body (408 after).")  # fmt: skip
def serve(
    operator: OperatorFlags,
    allow_verifiers: tuple[str, ...],
    api_key: str | None,
    grace: float,
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
    config = operator.serve_config(
        api_key=api_key,
        grace=grace,
        allow_verifiers=tuple(v.strip() for v in allow_verifiers if v.strip()),
        body_seconds=body_seconds,
    )
    ponder_server = Server(config)
    ponder_server.warm()  # a bad --model, --tools or --store is one line here, before the port is taken
    host, port = operator.host, operator.port
    click.echo(f"ponder serve: strategies over {operator.model_spec} on http://{host}:{port}/v1", err=True)
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
