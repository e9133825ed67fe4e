"""``recursive`` code mode: the model writes the code that reads the context (RLM REPL).

The context is a variable in a sandboxed Python REPL; the root model sees the
question, the context's metadata (type, size, a short preview) and the tools it
may call, writes ```python blocks, and sees each block's output (head and tail
of a long one, errors with the line that raised; :mod:`.repl_output`). In the
REPL it can call

* ``llm_query(prompt)`` / ``llm_query_batched(prompts)``: calls of the ``sub``
  model role (a ``Batch``: concurrent, as many at once as the engine allows);
* ``rlm_query(prompt, context)``: a child run of this strategy on a smaller
  context, its calls on the ``sub`` role (or the run's ``depth:N`` model); at
  the budget's ``max_depth`` it becomes one plain sub-call, as in the reference
  implementation;
* ``rlm_query_batched(prompts, contexts)``: child runs at once
  (:class:`~ponder.requests.Children`, ``rlm_concurrency`` at a time), a failed
  one a ``QueryError`` value in the list;
* ``tools.NAME(...)``: the run's tools (:mod:`.repl_tools`);
* ``SHOW_VARS()``: the REPL's variables; ``FINAL(answer)``: the answer.

These reach the engine through :class:`~ponder.strategies.recursive_repl.Bridge`,
so they are budgeted and traced. The run ends only when the code calls
``FINAL(answer)`` (never on a text marker), after ``max_iterations`` root turns,
or when the budget ends it. With ``fallback_after`` set (``auto`` mode), a
model whose code fails that many times, or that never answers, hands the
question to plan mode within the same run (a ``fallback`` step says why).
With a ``session`` the REPL is kept across questions (:mod:`.repl_session`).
"""

from __future__ import annotations

import queue
import re
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from .. import prompts, steps
from ..context import Context
from ..errors import DepthLimit, PromptTooLong, StopRun
from ..requests import Batch, Checkpoint, Child, Children, Generate, Outcome, Record, Request, StrategyGen
from ..sandbox import ExecResult, Sandbox, SandboxConfig
from ..tools.base import Tool
from ..types import Message, assistant, system, user
from .recursive_plan import RecursivePlan
from .recursive_repl import SETUP, Bridge, Call
from .repl_output import SHOW_VARS, observation
from .repl_session import ReplSession, Router
from .repl_tools import batch_payload, setup_code, tool_lines, tool_request

CHECK_SECONDS = 0.25  # while code runs, how often the run's time limit and cancellation are looked at
_BLOCK = re.compile(r"```(?:python|py|repl)?[ \t]*\n(.*?)```", re.DOTALL)
#: characters the REPL captures per block before the observation is clipped to ``max_output``
CAPTURE = 1_000_000


def _sub_window(long: PromptTooLong) -> str:
    return f"prompt of {long.tokens} tokens exceeds the sub-model's window of {long.window}; slice the input"


def _sub_answer(completion: Any) -> str:
    """An ``llm_query`` result: the reply, or (for a call that failed) the error, which the model's code sees."""
    if completion.finish_reason == "error":
        return f"Error: this sub-call failed ({completion.error or 'model error'})"
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


@dataclass(frozen=True, slots=True)
class GaveUp:
    """Code mode stopped trying: the model's code kept failing or it never answered."""

    reason: str
    failures: int
    turns: int


@dataclass(frozen=True)
class RecursiveCode:
    """Root model + REPL over ``context`` (a str or a list of str). See the module docs."""

    context: str | list[str]
    max_output: int = 2000
    chunk_chars: int = 4000
    depth: int = 0
    sandbox: SandboxConfig = field(default_factory=lambda: SandboxConfig(timeout=60, max_output=CAPTURE))
    tools: tuple[Tool, ...] = ()
    #: root-model turns before code mode stops (or falls back)
    max_iterations: int = 30
    #: failed blocks and replies without code before falling back to plan mode (None: never fall back)
    fallback_after: int | None = None
    #: child runs of one ``rlm_query_batched`` running at once
    rlm_concurrency: int = 4
    #: plan mode's settings, for the fallback
    chunk_bytes: int = 1500
    top_k: int = 3
    aggregate: str = "auto"
    session: ReplSession | None = None
    name: str = "recursive"

    def run(self, question: str) -> StrategyGen:
        tried = yield from self.attempt(question)
        if isinstance(tried, Outcome):
            return tried
        yield Record(
            steps.FALLBACK,
            f"code mode gave up ({tried.reason}): plan mode answers instead",
            steps.CodeFallbackData(to="plan", reason=tried.reason, failures=tried.failures, turns=tried.turns),
        )
        ctx = self.context
        context = Context.from_texts(ctx) if isinstance(ctx, list) else Context.from_text(ctx)
        plan = RecursivePlan(context, chunk_bytes=self.chunk_bytes, top_k=self.top_k, aggregate=self.aggregate)
        outcome = yield from plan.run(question)
        note = f"fell back to plan mode: {tried.reason}"
        if self.session is not None:  # the turn is over: plan mode answered it
            self.session.finish(outcome.answer, [])
        return Outcome(outcome.answer, outcome.stop_reason, f"{note}; {outcome.detail}" if outcome.detail else note)

    def attempt(self, question: str) -> Generator[Request, Any, Outcome | GaveUp]:
        """Code mode itself: an Outcome, or GaveUp when ``fallback_after`` is set and reached."""
        bridge = Bridge()
        router = Router(bridge.handler)
        with Sandbox(self.sandbox, handler=router.handler) as sandbox:
            sandbox.set_variable("context", self.context, setup=True)  # setup: a replaced worker gets it again
            sandbox.run(SETUP, setup=True)
            sandbox.run(setup_code(self.tools), setup=True)
            sandbox.run(SHOW_VARS, setup=True)
            if self.session is not None:
                restored = yield from self.session.open(sandbox, router, bridge, question, self.context)
                yield Record(
                    steps.SESSION,
                    f"session {self.session.name}: turn {restored['turn']}, {restored['restored_turns']} earlier "
                    f"turn(s) restored ({restored['cells']} cells replayed)",
                    restored,
                )
            history = self._prompt(question)
            failures = turns = 0
            try:
                while True:
                    if turns >= self.max_iterations:
                        reason = f"no FINAL answer after {turns} turns"
                        if self.fallback_after is not None:
                            return GaveUp(reason, failures, turns)
                        return self._end(Outcome(None, "rounds", reason), history)
                    try:
                        reply = (yield Generate.of(history, kind=steps.CODE)).text
                    except PromptTooLong as long:  # not a turn: the same turn again, on a shorter prompt
                        history = yield from _forget_oldest(history, long)
                        continue
                    turns += 1
                    history.append(assistant(reply))
                    blocks = code_blocks(reply)
                    if not blocks:
                        yield Record(steps.REPL, "no code block in the reply", {"ok": False})
                        failures += 1
                        if self._give_up(failures):
                            return GaveUp(f"{failures} replies or blocks that did not run", failures, turns)
                        history.append(user(prompts.load("recursive/code_nocode")))
                        continue
                    outputs = []
                    for code in blocks:
                        result = yield from self._execute(bridge, sandbox, code)
                        if self.session is not None:
                            self.session.cell(sandbox, router, code, result)
                            if result.restarted:  # the worker was lost: the session's REPL comes back
                                result = yield from self.session.recover(sandbox, router, bridge, result)
                        outputs.append(observation(result, self.max_output))
                        if bridge.answer is not None:
                            return self._end(Outcome(bridge.answer, "answered", "the code called FINAL"), history)
                        if not result.ok:
                            failures += 1
                            if self._give_up(failures):
                                return GaveUp(f"{failures} replies or blocks that did not run", failures, turns)
                            break  # the rest of the reply was written before this block failed
                    history.append(user(prompts.render("recursive/code_output", output="\n".join(outputs))))
            except StopRun as stop:
                return self._end(Outcome(bridge.answer, stop.reason, stop.detail), history)  # type: ignore[arg-type]
            finally:
                bridge.stopped = True

    def _give_up(self, failures: int) -> bool:
        return self.fallback_after is not None and failures >= self.fallback_after

    def _end(self, outcome: Outcome, history: list[Message]) -> Outcome:
        if self.session is not None:
            self.session.finish(outcome.answer, [{"role": m.role, "content": m.content} for m in history])
        return outcome

    def _prompt(self, question: str) -> list[Message]:
        ctx = self.context
        docs = ctx if isinstance(ctx, list) else [ctx]
        first = docs[0] if docs else ""
        tools = tool_lines(self.tools)
        session = ""
        if self.session is not None and self.session.turn:
            turn = self.session.turn
            session = (
                f"\n\nThis is question {turn + 1} of a session: the REPL keeps every variable of earlier questions;"
                f" their contexts are context_0 ... context_{turn - 1} and their conversations history_0 ..."
                f" history_{turn - 1} (this question's context is context_{turn}). SHOW_VARS() lists them."
                + self.session.note()
            )
        return [
            system(
                prompts.render(
                    "recursive/code_system",
                    max_output=str(self.max_output),
                    chunk_chars=str(self.chunk_chars),
                    tools=f"\nTools, as functions (they return text; a failure raises ToolError):\n{tools}\n"
                    if tools
                    else "",
                )
            ),
            user(
                prompts.render(
                    "recursive/code_task",
                    question=question,
                    kind="list of str" if isinstance(ctx, list) else "str",
                    size=str(sum(len(d) for d in docs)),
                    documents=str(len(docs)),
                    preview=first[:300],
                )
                + session
            ),
        ]

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

    def _child(self, context: Any) -> RecursiveCode:
        return RecursiveCode(
            context,
            self.max_output,
            self.chunk_chars,
            self.depth + 1,
            self.sandbox,
            self.tools,
            self.max_iterations,
            self.fallback_after,
            self.rlm_concurrency,
            self.chunk_bytes,
            self.top_k,
            "none" if self.aggregate == "count" else self.aggregate,
        )

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
            tuple(Child(self._child(c), p, role="sub") for p, c in pairs), max_concurrency=self.rlm_concurrency
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
