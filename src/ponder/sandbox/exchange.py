"""One request to the worker and the host calls it makes before its result: the host side of the protocol.

:func:`converse` sends a request frame and serves every ``call`` message the code
makes (``host_call(name, payload)``) with the sandbox's handler until the request's
``result`` arrives, the deadline passes, or the worker dies or breaks the protocol
(a :class:`~ponder.sandbox.result.Failure`). Time spent in the handler is not charged
to the call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..guards.payload import PayloadError, check_json
from .process import WorkerProcess
from .protocol import ProtocolError, WorkerGone, encode
from .result import Failure

HostHandler = Callable[[str, Any], Any]
"""Serves ``host_call(name, payload)`` from sandboxed code; returns a JSON-able value.

The payload is checked first (plain JSON, at most 32 levels deep, 100,000 values; see
:mod:`ponder.guards.payload`); a handler raises :class:`HostCallRejected` to refuse a payload
of the wrong shape, and the code's ``host_call`` raises ``HostCallError`` with that message."""


class HostCallRejected(Exception):  # noqa: N818 - the sandboxed code sees it as HostCallError
    """Raised by a host handler: the payload is wrong; the message goes to the sandboxed code as is."""


def converse(
    worker: WorkerProcess, frame: bytes, request_id: int, deadline: float, handler: HostHandler | None
) -> dict[str, Any] | Failure:
    """Send ``frame`` and serve host calls until the result of ``request_id`` (or a Failure)."""
    channel = worker.channel
    try:
        if not channel.send(frame, deadline):
            return Failure("timeout")
        while True:
            message = channel.receive(deadline)
            if message is None:
                return Failure("timeout")
            op = message.get("op")
            if op == "call":
                began = time.monotonic()
                reply = serve_call(handler, message)
                deadline += time.monotonic() - began
                if not channel.send(reply, deadline):
                    return Failure("timeout")
            elif op == "result" and message.get("id") == request_id:
                return message
            else:
                raise ProtocolError(f"unexpected {op!r} message from the worker")
    except WorkerGone:
        return Failure("died", worker.exit_note())
    except ProtocolError as exc:
        return Failure("protocol", str(exc))


def serve_call(handler: HostHandler | None, message: dict[str, Any]) -> bytes:
    """The reply frame to one ``call`` message."""
    name, payload = message.get("name"), message.get("payload")
    if not isinstance(name, str) or not name or len(name) > 100:
        return encode({"op": "reply", "error": "host_call() name must be a short non-empty string"})
    if handler is None:
        return encode({"op": "reply", "error": f"no host handler is installed (host_call({name!r}))"})
    try:
        check_json(payload, what=f"the payload of host_call({name!r})")
        result = handler(name, payload)
    except (HostCallRejected, PayloadError) as exc:
        return encode({"op": "reply", "error": str(exc)})
    except Exception as exc:  # the handler's failure is the sandboxed code's problem: report it there
        return encode({"op": "reply", "error": f"{type(exc).__name__}: {exc}"})
    try:
        return encode({"op": "reply", "result": result})
    except (TypeError, ValueError):
        return encode({"op": "reply", "error": f"the host handler for {name!r} returned a non-JSON value"})
