"""The bridge between sandboxed REPL code and the engine, for ``recursive`` code mode.

The model's code runs in :class:`~ponder.sandbox.Sandbox` on a helper thread.
When it calls ``llm_query`` (or ``rlm_query``, ``FINAL``), the sandbox calls
our handler *on that thread*; the handler puts a request on a queue and waits.
The strategy generator, on the engine's thread, drains the queue: it yields
each request to the engine (a ``Batch`` of ``Generate``, or a ``Child``) and
hands the result back. So every sub-call is budgeted, traced and run by the
engine like any other, and the strategy itself still does no I/O of its own
beyond driving the sandbox.

Every payload is checked by :func:`check_call` before it is queued (the sandbox has
already checked that it is plain, bounded JSON): a wrong shape, such as
``rlm_query("q", {"a": 1})`` or ``host_call("llm_query", "oops")``, raises
``HostCallError`` in the model's code with a message saying what was expected, and
the run goes on. ``rlm_query_batched`` and ``tool`` calls are checked where they
are served (:mod:`.repl_tools`); a wrong shape comes back to the code as an error.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from ..sandbox import ExecResult, HostCallRejected, Sandbox

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


MAX_BATCH = 256  # prompts in one llm_query_batched call
HOST_FUNCTIONS = ("llm_query", "rlm_query", "rlm_query_batched", "tool", "answer")
#: host functions whose payload the strategy checks where it serves them (:mod:`.repl_tools`): a wrong
#: shape is an error value the code sees (``rlm_query_batched`` raises it, ``tools.NAME`` a ``ToolError``)
CHECKED_WHERE_SERVED = ("rlm_query_batched", "tool")


def check_call(name: str, payload: Any) -> Any:
    """The payload of host function ``name`` in the shape the strategy uses; HostCallRejected otherwise."""
    if name == "llm_query":
        prompts = payload.get("prompts") if isinstance(payload, dict) else None
        if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
            raise HostCallRejected(
                f"llm_query: the payload must be {{'prompts': [str, ...]}}, got {_shape(payload)}; "
                "call llm_query(prompt) or llm_query_batched(prompts)"
            )
        if len(prompts) > MAX_BATCH:
            raise HostCallRejected(f"llm_query_batched: at most {MAX_BATCH} prompts per call, got {len(prompts)}")
        return {"prompts": prompts}
    if name == "rlm_query":
        prompt = payload.get("prompt") if isinstance(payload, dict) else None
        context = payload.get("context") if isinstance(payload, dict) else None
        if not isinstance(prompt, str):
            raise HostCallRejected(
                f"rlm_query: the payload must be {{'prompt': str, 'context': ...}}, got {_shape(payload)}"
            )
        if not isinstance(context, str) and not (
            isinstance(context, list) and all(isinstance(item, str) for item in context)
        ):
            raise HostCallRejected(
                f"rlm_query(prompt, context): context must be a str or a list of str, got {_shape(context)}"
            )
        return {"prompt": prompt, "context": context}
    if name in CHECKED_WHERE_SERVED:
        return payload
    if name == "answer":
        if isinstance(payload, bool) or not isinstance(payload, str | int | float):
            raise HostCallRejected(f"FINAL(answer): the answer must be text or a number, got {_shape(payload)}")
        return str(payload)
    raise HostCallRejected(f"unknown host function {name!r}; there are: {', '.join(HOST_FUNCTIONS)}")


def _shape(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(value)[:5]}"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    return type(value).__name__


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
        payload = check_call(name, payload)
        if name == "answer":
            self.answer = payload
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
