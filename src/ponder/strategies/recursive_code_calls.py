"""How ``recursive`` code mode serves its REPL's host calls through the engine (a mixin of RecursiveCode).

The model's block runs on a helper thread (:class:`~ponder.strategies.recursive_repl.Bridge`);
:meth:`HostCalls._execute` drains the bridge's queue on the engine's thread and turns each
call into a request: ``llm_query`` a :class:`~ponder.requests.Batch` of sub-calls,
``rlm_query`` a :class:`~ponder.requests.Child` (one plain sub-call at the depth limit),
``rlm_query_batched`` :class:`~ponder.requests.Children`, ``tools.NAME`` a
:class:`~ponder.requests.CallTool`. Failures come back to the code as values or
exceptions it sees; a run that is ending aborts the block.
"""

from __future__ import annotations

import queue
from collections.abc import Generator
from typing import Any

from .. import prompts, steps
from ..errors import DepthLimit, PromptTooLong
from ..requests import Batch, Checkpoint, Child, Children, Generate, Outcome, Record, Request
from ..sandbox import ExecResult, Sandbox
from ..tools.base import Tool
from ..types import user
from .recursive_repl import Bridge, Call
from .repl_output import observation
from .repl_tools import batch_payload, tool_request

CHECK_SECONDS = 0.25  # while code runs, how often the run's time limit and cancellation are looked at


def _sub_window(long: PromptTooLong) -> str:
    return f"prompt of {long.tokens} tokens exceeds the sub-model's window of {long.window}; slice the input"


def _sub_answer(completion: Any) -> str:
    """An ``llm_query`` result: the reply, or (for a call that failed) the error, which the model's code sees."""
    if completion.finish_reason == "error":
        return f"Error: this sub-call failed ({completion.error or 'model error'})"
    return str(completion.text)


class HostCalls:
    """The host-call half of :class:`~ponder.strategies.recursive_code.RecursiveCode`."""

    max_output: int
    chunk_chars: int
    tools: tuple[Tool, ...]
    rlm_concurrency: int

    def _child(self, context: Any) -> Any:
        raise NotImplementedError

    def _execute(self, bridge: Bridge, sandbox: Sandbox, code: str) -> Generator[Request, Any, ExecResult]:
        """Run one block, serving its host calls through the engine until it finishes."""
        thread = bridge.start(sandbox, code)
        try:
            while True:
                try:
                    item = bridge.calls.get(timeout=CHECK_SECONDS)
                except queue.Empty:  # the code is still running: may the run go on? (StopRun if not)
                    yield Checkpoint()
                    continue
                if isinstance(item, tuple):
                    _, result = item
                    if isinstance(result, BaseException):
                        raise result
                    yield Record(steps.REPL, observation(result, self.max_output), {"code": code, "ok": result.ok})
                    return result
                yield from self._serve(item)
        except BaseException:
            bridge.stopped = True
            sandbox.abort()  # the run is ending (time up, cancelled): do not wait for the code
            self._drain(bridge)
            thread.join(timeout=30)
            raise

    def _serve(self, call: Call) -> Generator[Request, Any, None]:
        try:
            if call.name == "llm_query":
                prompts_ = [str(p) for p in call.payload.get("prompts", [])]
                requests = tuple(Generate.of([user(p)], kind=steps.SUB_QUERY, role="sub") for p in prompts_)
                try:
                    completions = yield Batch(requests)
                except PromptTooLong as long:  # every prompt was too long: llm_query raises it in the REPL
                    call.reply.put((False, f"llm_query: {_sub_window(long)}"))
                    return
                call.reply.put((True, [_sub_answer(c) for c in completions]))
            elif call.name == "rlm_query":
                payload = call.payload if isinstance(call.payload, dict) else {}
                ok, text = yield from self._rlm(str(payload.get("prompt", "")), payload.get("context") or "")
                call.reply.put((ok, text))
            elif call.name == "rlm_query_batched":
                call.reply.put((True, (yield from self._rlm_batched(call.payload))))
            elif call.name == "tool":
                request = tool_request({t.name: t for t in self.tools}, call.payload)
                if isinstance(request, str):
                    call.reply.put((True, {"ok": False, "error": request}))
                else:
                    done = yield request
                    call.reply.put((True, {"ok": done.ok, "output": done.output, "error": done.error}))
            else:
                call.reply.put((False, f"unknown host function {call.name!r}"))
        except BaseException as exc:
            call.reply.put((False, f"the run is stopping: {exc}"))
            raise

    def _rlm(self, prompt: str, context: Any) -> Generator[Request, Any, tuple[bool, str]]:
        """One child run: (True, its answer), or (False, why not). At the depth limit: one plain sub-call."""
        if not _is_context(context):
            return False, f"rlm_query: the context must be a str or a list of str, got {type(context).__name__}"
        try:
            outcome = yield Child(self._child(context), prompt, role="sub")
        except DepthLimit as limit:
            plain = yield from self._plain([(prompt, context)], limit)
            return plain[0]
        except PromptTooLong as long:  # the child's prompt could not shrink enough: rlm_query raises it
            return False, f"rlm_query: {long}"
        return True, _answer(outcome)

    def _rlm_batched(self, payload: Any) -> Generator[Request, Any, Any]:
        checked = batch_payload(payload)
        if isinstance(checked, str):
            return {"error": checked}
        pairs = list(zip(*checked, strict=True))
        group = Children(
            tuple(Child(self._child(c), p, role="sub") for p, c in pairs), max_parallel_children=self.rlm_concurrency
        )
        try:
            outcomes = yield group
        except DepthLimit as limit:
            answers = yield from self._plain(pairs, limit)
            return [text if ok else {"error": text} for ok, text in answers]
        return [
            o.answer if o.answer is not None else {"error": f"the child run ended without an answer ({_why(o)})"}
            for o in outcomes
        ]

    def _plain(
        self, pairs: list[tuple[str, Any]], limit: DepthLimit
    ) -> Generator[Request, Any, list[tuple[bool, str]]]:
        """rlm_query at the depth limit: one plain sub-call per (prompt, context), batched; too long a context
        is an error for that one."""
        out: list[tuple[bool, str]] = []
        calls: list[tuple[int, Generate]] = []
        for prompt, context in pairs:
            text = "\n\n".join(context) if isinstance(context, list) else str(context)
            if len(text) > 2 * self.chunk_chars:
                out.append(
                    (
                        False,
                        f"rlm_query at the depth limit ({limit.detail}) is one plain sub-call, and this context has "
                        f"{len(text)} characters (a sub-call reads about {self.chunk_chars}); slice it or use"
                        " llm_query_batched",
                    )
                )
                continue
            messages = [user(prompts.render("recursive/plain_query", prompt=prompt, context=text))]
            calls.append(
                (len(out), Generate.of(messages, kind=steps.SUB_QUERY, role="sub", data={"depth_limit": True}))
            )
            out.append((True, ""))
        if calls:
            try:
                completions = yield Batch(tuple(g for _, g in calls))
            except PromptTooLong as long:  # every prompt was too long: each is an error for its caller
                return [(False, f"rlm_query: {_sub_window(long)}") if ok else (ok, text) for ok, text in out]
            for (i, _), completion in zip(calls, completions, strict=True):
                failed = completion.finish_reason == "error"
                out[i] = (not failed, _sub_answer(completion) if failed else completion.text)
        return out

    def _drain(self, bridge: Bridge) -> None:
        """Fail every call still waiting, so the REPL thread can finish."""
        while True:
            try:
                item = bridge.calls.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, Call):
                item.reply.put((False, "the run is over"))


def _is_context(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def _answer(outcome: Outcome) -> str:
    return outcome.answer if outcome.answer is not None else f"(no answer: {_why(outcome)})"


def _why(outcome: Outcome) -> str:
    return f"{outcome.stop_reason}: {outcome.detail}" if outcome.detail else outcome.stop_reason
