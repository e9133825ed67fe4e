"""``recursive`` code mode: the model writes the code that reads the context (RLM REPL).

The context is a variable in a sandboxed Python REPL; the root model sees the
question and the context's metadata (type, size, a short preview), writes
```python blocks, and sees each block's output cut to ``max_output``
characters. In the REPL it can call ``llm_query``, ``llm_query_batched`` and
``rlm_query`` (a child run of this strategy on a smaller context, as deep as
the budget's ``max_depth`` allows); these reach the engine through
:class:`~ponder.strategies.recursive_repl.Bridge`, so they are budgeted and
traced. The run ends only when the code calls ``FINAL(answer)`` (never on a
text marker), or when the budget ends it.
"""

from __future__ import annotations

import queue
import re
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from .. import prompts, steps
from ..errors import DepthLimit, PromptTooLong, StopRun
from ..requests import Batch, Checkpoint, Child, Generate, Outcome, Record, Request, StrategyGen
from ..sandbox import ExecResult, Sandbox, SandboxConfig
from ..types import Message, assistant, system, user
from .recursive_repl import SETUP, Bridge, Call

CHECK_SECONDS = 0.25  # while code runs, how often the run's time limit and cancellation are looked at
_BLOCK = re.compile(r"```(?:python|py|repl)?[ \t]*\n(.*?)```", re.DOTALL)


def _sub_window(long: PromptTooLong) -> str:
    return f"prompt of {long.tokens} tokens exceeds the sub-model's window of {long.window}; slice the input"


def _answer(completion: Any) -> str:
    """An ``llm_query`` result: the reply, or (for a call that failed) the error, which the model's code sees."""
    if completion.finish_reason == "error" and completion.error:
        return f"error: {completion.error}"
    return str(completion.text)


def _forget_oldest(history: list[Message], long: PromptTooLong) -> Generator[Request, Any, list[Message]]:
    """The root prompt outgrew the window: drop the oldest reply and its output (the task stays), and say so."""
    yield Record(steps.TOO_LONG, str(long), {"tokens": long.tokens, "window": long.window})
    if len(history) <= 4:
        raise long
    note = user(f"[{long}: your oldest code and its output were dropped; print less]")
    return [*history[:2], note, *history[4:]]


def code_blocks(text: str) -> list[str]:
    """The fenced code blocks of a model reply, in order."""
    return [b for b in _BLOCK.findall(text) if b.strip()]


@dataclass(frozen=True)
class RecursiveCode:
    """Root model + REPL over ``context`` (a str or a list of str). See the module docs."""

    context: str | list[str]
    max_output: int = 2000
    chunk_chars: int = 4000
    depth: int = 0
    sandbox: SandboxConfig = field(default_factory=lambda: SandboxConfig(timeout=60))
    name: str = "recursive"

    def run(self, question: str) -> StrategyGen:
        bridge = Bridge()
        with Sandbox(self.sandbox, handler=bridge.handler) as sandbox:
            sandbox.set_variable("context", self.context)
            sandbox.run(SETUP)
            history: list[Message] = [
                system(
                    prompts.render(
                        "recursive/code_system", max_output=str(self.max_output), chunk_chars=str(self.chunk_chars)
                    )
                ),
                user(prompts.render("recursive/code_task", question=question, **self._metadata())),
            ]
            try:
                while True:
                    try:
                        reply = (yield Generate.of(history, kind=steps.CODE)).text
                    except PromptTooLong as long:
                        history = yield from _forget_oldest(history, long)
                        continue
                    history.append(assistant(reply))
                    blocks = code_blocks(reply)
                    if not blocks:
                        yield Record(steps.REPL, "no code block in the reply", {"ok": False})
                        history.append(user(prompts.load("recursive/code_nocode")))
                        continue
                    outputs = []
                    for code in blocks:
                        result = yield from self._execute(bridge, sandbox, code)
                        outputs.append(self._show(result))
                        if bridge.answer is not None:
                            return Outcome(bridge.answer, "answered", "the code called FINAL")
                    history.append(user(prompts.render("recursive/code_output", output="\n".join(outputs))))
            except StopRun as stop:
                return Outcome(bridge.answer, stop.reason, stop.detail)  # type: ignore[arg-type]
            finally:
                bridge.stopped = True

    def _metadata(self) -> dict[str, str]:
        ctx = self.context
        docs = ctx if isinstance(ctx, list) else [ctx]
        first = docs[0] if docs else ""
        return {
            "kind": "list of str" if isinstance(ctx, list) else "str",
            "size": str(sum(len(d) for d in docs)),
            "documents": str(len(docs)),
            "preview": first[:300],
        }

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
                    yield Record(steps.REPL, self._show(result), {"code": code, "ok": result.ok})
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
                call.reply.put((True, [_answer(c) for c in completions]))
            elif call.name == "rlm_query":
                child = RecursiveCode(
                    call.payload.get("context") or "",
                    self.max_output,
                    self.chunk_chars,
                    self.depth + 1,
                    self.sandbox,
                )
                try:
                    outcome = yield Child(child, str(call.payload.get("prompt", "")), role="sub")
                except DepthLimit as limit:
                    call.reply.put((False, f"rlm_query: {limit.detail}; use llm_query"))
                    return
                call.reply.put(
                    (True, outcome.answer if outcome.answer is not None else f"(no answer: {outcome.detail})")
                )
            else:
                call.reply.put((False, f"unknown host function {call.name!r}"))
        except BaseException as exc:
            call.reply.put((False, f"the run is stopping: {exc}"))
            raise

    def _drain(self, bridge: Bridge) -> None:
        """Fail every call still waiting, so the REPL thread can finish."""
        while True:
            try:
                item = bridge.calls.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, Call):
                item.reply.put((False, "the run is over"))

    def _show(self, result: ExecResult) -> str:
        text = result.stdout
        if result.error:
            text += ("\n" if text else "") + (result.stderr.strip().splitlines() or [result.error])[-1]
        text = text.strip() or "(no output)"
        if len(text) > self.max_output:
            text = text[: self.max_output] + f"\n[... {len(text) - self.max_output} more characters not shown]"
        return text
