"""A scripted reply function that measures how many model calls were in flight at once (shared by concurrency tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class InFlight:
    """Call it as a ScriptedModel reply function; ``peak`` is the most calls seen running together.

    Each call holds for ``hold`` seconds, or, with ``barrier=N``, until N calls
    are running (so a test only passes when N really overlap).
    """

    def __init__(
        self, reply: Callable[[Any], str] = lambda m: "42", hold: float = 0.03, barrier: int | None = None
    ) -> None:
        self.reply = reply
        self.hold = hold
        self.barrier = threading.Barrier(barrier, timeout=20) if barrier else None
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0

    def __call__(self, messages: Any) -> str:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        if self.barrier is not None:
            self.barrier.wait()
        else:
            time.sleep(self.hold)
        with self.lock:
            self.running -= 1
        return self.reply(messages)
