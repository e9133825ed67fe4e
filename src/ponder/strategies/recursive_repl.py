"""The bridge between sandboxed REPL code and the engine, for ``recursive`` code mode.

The model's code runs in :class:`~ponder.sandbox.Sandbox` on a helper thread.
When it calls ``llm_query`` (or ``rlm_query``, ``FINAL``), the sandbox calls
our handler *on that thread*; the handler puts a request on a queue and waits.
The strategy generator, on the engine's thread, drains the queue: it yields
each request to the engine (a ``Batch`` of ``Generate``, or a ``Child``) and
hands the result back. So every sub-call is budgeted, traced and run by the
engine like any other, and the strategy itself still does no I/O of its own
beyond driving the sandbox.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from ..sandbox import ExecResult, Sandbox

#: defines the REPL's functions; ``host_call`` is provided by the sandbox worker
SETUP = """
def llm_query(prompt):
    return host_call("llm_query", {"prompts": [str(prompt)]})[0]

def llm_query_batched(prompts):
    return host_call("llm_query", {"prompts": [str(p) for p in prompts]})

def rlm_query(prompt, context):
    return host_call("rlm_query", {"prompt": str(prompt), "context": context})

def FINAL(answer):
    host_call("answer", str(answer))
    print("FINAL answer recorded.")
"""


@dataclass
class Call:
    """One request from the REPL code, waiting for the engine's result."""

    name: str
    payload: Any
    reply: queue.Queue[tuple[bool, Any]] = field(default_factory=lambda: queue.Queue(maxsize=1))


class Stopped(Exception):  # noqa: N818 - a signal to the REPL thread
    """The run is ending: every further host call from the REPL fails with this."""


class Bridge:
    """Runs code blocks on a helper thread and turns their host calls into queue items."""

    def __init__(self) -> None:
        self.calls: queue.Queue[Call | tuple[str, ExecResult | BaseException]] = queue.Queue()
        self.answer: str | None = None
        self.stopped = False

    def handler(self, name: str, payload: Any) -> Any:
        """The sandbox's host handler (runs on the REPL thread)."""
        if self.stopped:
            raise Stopped("the run is over")
        if name == "answer":
            self.answer = str(payload)
            return "ok"
        call = Call(name, payload)
        self.calls.put(call)
        ok, value = call.reply.get()
        if not ok:
            raise RuntimeError(str(value))
        return value

    def start(self, sandbox: Sandbox, code: str, timeout: float | None = None) -> threading.Thread:
        """Run ``code`` on a helper thread; its result arrives on :attr:`calls` as ``("done", result)``."""

        def work() -> None:
            try:
                result: ExecResult | BaseException = sandbox.run(code, timeout=timeout)
            except BaseException as exc:  # reported to the strategy, which decides
                result = exc
            self.calls.put(("done", result))

        thread = threading.Thread(target=work, name="ponder-repl", daemon=True)
        thread.start()
        return thread
