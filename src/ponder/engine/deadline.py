"""Hard wall-clock deadlines for calls that may never return (a stuck tool, a stuck model call).

:func:`call_with_deadline` runs a blocking call on a daemon helper thread and waits for it, in
short slices, until it finishes or its deadline passes; between slices it calls ``poll``
(the budget meter's check, which raises :class:`~ponder.errors.StopRun` when the run's time
limit passes or the run is cancelled). A call that overruns is *abandoned*: the caller gets
:class:`Overdue` at once and goes on, while the helper thread runs on in the background until
the call returns by itself (tools bound their own work too: ``http_get`` shuts its socket at
its deadline). Python cannot kill a thread, so this is the one safe way to keep a run's
limits while code it does not control is blocked in a system call.

Helper threads are reused: a thread whose call returned waits (up to :data:`IDLE_SECONDS`) for
the next one, so a watched call costs a queue hand-off, not a thread start; a thread whose call
is stuck simply never comes back, and the next call gets another.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
POLL_SECONDS = 0.1  # how often a waiting caller looks at the run's limits
IDLE_SECONDS = 30.0  # how long a helper thread waits for its next call before it ends


class Overdue(Exception):  # noqa: N818 - an outcome, handled inside the package
    """The call did not finish within its deadline and was abandoned."""


class _Outcome(Generic[T]):
    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None


def call_with_deadline(
    fn: Callable[[], T],
    seconds: float | None,
    *,
    poll: Callable[[], None] | None = None,
    name: str = "ponder-call",
) -> T:
    """``fn()``, or :class:`Overdue` once ``seconds`` pass (``None``: no deadline); ``poll`` is called
    about every :data:`POLL_SECONDS` while waiting, and what it raises is raised here (the call is
    abandoned). Exceptions of ``fn`` are raised here too. With neither a deadline nor ``poll``,
    ``fn`` runs on the calling thread."""
    if seconds is None and poll is None:
        return fn()
    if seconds is not None and seconds <= 0:
        raise Overdue
    outcome: _Outcome[T] = _Outcome()

    def work() -> None:
        try:
            outcome.value = fn()
        except BaseException as exc:  # handed to the waiting caller
            outcome.error = exc
        finally:
            outcome.done.set()

    _start(work, name)
    wait_until(outcome.done, seconds, poll)
    if outcome.error is not None:
        raise outcome.error
    return outcome.value  # type: ignore[return-value]


_idle: list[queue.SimpleQueue[Callable[[], Any] | None]] = []  # the inboxes of idle helper threads
_idle_lock = threading.Lock()


def _start(work: Callable[[], Any], name: str) -> None:
    """Run ``work`` on an idle helper thread, or on a new one."""
    with _idle_lock:
        inbox = _idle.pop() if _idle else None
    if inbox is not None:
        inbox.put(work)
        return
    inbox = queue.SimpleQueue()
    inbox.put(work)
    threading.Thread(target=_helper, args=(inbox,), name=name, daemon=True).start()


def _helper(inbox: queue.SimpleQueue[Callable[[], Any] | None]) -> None:
    while True:
        try:
            work = inbox.get(timeout=IDLE_SECONDS)
        except queue.Empty:
            with _idle_lock:
                if inbox in _idle:
                    _idle.remove(inbox)
                    return
            continue  # handed a job just as it timed out: take it
        if work is None:
            return
        work()  # never raises: see call_with_deadline's work()
        with _idle_lock:
            _idle.append(inbox)


def wait_until(event: threading.Event, seconds: float | None, poll: Callable[[], None] | None) -> None:
    """Wait for ``event``; :class:`Overdue` after ``seconds``; ``poll`` between slices (it may raise)."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while True:
        slice_ = POLL_SECONDS if poll is not None else None
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Overdue
            slice_ = left if slice_ is None else min(slice_, left)
        if event.wait(slice_):
            return
        if poll is not None:
            poll()
