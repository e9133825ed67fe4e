"""Admission of runs: at most N runs execute, at most M wait; the rest are turned away with 429 and Retry-After."""

from __future__ import annotations

import asyncio

from .translate import ApiError


class RunAdmission:
    """The server's admission control: an asyncio semaphore with a bounded queue in front of it (used on the
    event loop only). Not the budget's gate (:class:`~ponder.engine.budget.BudgetMeter`), which admits calls, nor
    the batched decode loop's admission of calls onto sequence slots (:mod:`ponder.models.llama_admit`)."""

    def __init__(self, running: int, queued: int, retry_after: int = 1) -> None:
        self.running = running
        self.queued = queued
        self.retry_after = retry_after
        self.active = 0
        self.waiting = 0
        self._slots = asyncio.Semaphore(running)

    async def enter(self) -> None:
        """Take a run slot, waiting in the queue if there is room; 429 when the queue is full too."""
        if self.active + self.waiting >= self.running + self.queued:
            raise ApiError(
                429,
                f"the server is busy ({self.active} runs running, {self.waiting} waiting); retry later",
                type="rate_limit_error",
                code="rate_limit_exceeded",
                headers={"Retry-After": str(self.retry_after)},
            )
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.active += 1

    def leave(self) -> None:
        self.active -= 1
        self._slots.release()
