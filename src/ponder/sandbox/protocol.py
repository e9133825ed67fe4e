"""The host's end of the worker protocol: length-prefixed JSON frames with deadlines.

Everything read from the worker is untrusted: sandboxed code can write to the protocol
descriptor too. Oversized, malformed or unexpected frames raise :class:`ProtocolError`
and the caller kills the worker; nothing the worker sends can make the host hang past
its deadline or allocate more than ``MAX_FRAME`` bytes per frame.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any

from ..guards.text import clean_tree

HEADER = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024


class WorkerGone(Exception):  # noqa: N818 - an event, handled inside the package
    """The worker closed its end of the pipe (it exited or was killed)."""


class ProtocolError(Exception):
    """The worker sent something that is not a valid frame."""


def encode(message: dict[str, Any]) -> bytes:
    """One frame; raises TypeError/ValueError when ``message`` is not JSON-able."""
    body = json.dumps(message, ensure_ascii=False, allow_nan=False).encode("utf-8", "surrogatepass")
    return HEADER.pack(len(body)) + body


class HostChannel:
    """Non-blocking reads and writes on the worker's stdout and stdin, each bounded by a deadline."""

    def __init__(self, to_worker: int, from_worker: int) -> None:
        self._to = to_worker
        self._from = from_worker
        os.set_blocking(to_worker, False)
        os.set_blocking(from_worker, False)
        self._buffer = bytearray()

    def send(self, frame: bytes, deadline: float) -> bool:
        """Write the whole frame; False if the deadline passed first. Raises WorkerGone on a closed pipe."""
        view = memoryview(frame)
        poller = select.poll()
        poller.register(self._to, select.POLLOUT)
        while view:
            try:
                written = os.write(self._to, view)
            except BlockingIOError:
                written = 0
            except (BrokenPipeError, OSError) as exc:
                raise WorkerGone(str(exc)) from exc
            view = view[written:]
            if view:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                events = poller.poll(remaining * 1000)
                if any(ev & (select.POLLERR | select.POLLHUP) for _fd, ev in events):
                    raise WorkerGone("the worker's stdin is closed")
        return True

    def receive(self, deadline: float) -> dict[str, Any] | None:
        """The next message, or None when the deadline passes first."""
        poller: select.poll | None = None
        while True:
            message = self._take_frame()
            if message is not None:
                return message
            try:
                chunk = os.read(self._from, 1 << 20)
            except BlockingIOError:
                chunk = None
            if chunk == b"":
                raise WorkerGone("the worker closed its output")
            if chunk:
                self._buffer += chunk
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if poller is None:
                poller = select.poll()
                poller.register(self._from, select.POLLIN)
            poller.poll(remaining * 1000)

    def _take_frame(self) -> dict[str, Any] | None:
        if len(self._buffer) < HEADER.size:
            return None
        (size,) = HEADER.unpack_from(self._buffer)
        if size > MAX_FRAME:
            raise ProtocolError(f"the worker sent a {size}-byte frame (limit {MAX_FRAME})")
        end = HEADER.size + size
        if len(self._buffer) < end:
            return None
        body = bytes(self._buffer[HEADER.size : end])
        del self._buffer[:end]
        try:
            message = clean_tree(
                json.loads(body)
            )  # the worker's text is valid Unicode from here on (ponder.guards.text)
        except ValueError as exc:
            raise ProtocolError(f"the worker sent invalid JSON: {exc}") from exc
        except RecursionError:  # only code writing to the protocol descriptor by hand gets here
            raise ProtocolError("the worker sent JSON nested too deeply") from None
        if not isinstance(message, dict):
            raise ProtocolError("the worker sent a frame that is not a JSON object")
        return message
