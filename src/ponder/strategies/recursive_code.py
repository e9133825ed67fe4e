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
* ``grep``, ``peek`` (search and look, bounded output), ``FINAL_VAR(name)`` and
  the ``answer`` dict (:mod:`.repl_helpers`);
* ``SHOW_VARS()``: the REPL's variables; ``FINAL(answer)``: the answer.

These reach the engine through :class:`~ponder.strategies.recursive_repl.Bridge`,
so they are budgeted and traced. Each root reply is constrained to one
```python block where the backend takes a grammar (``constrained``;
:mod:`.code_guard`), and the prompts (:mod:`.code_prompt`) carry a worked
example, a turn counter and the sub-model's reading size. The run ends only
when the code answers (``FINAL``, ``FINAL_VAR`` or the ``answer`` dict; never on
a text marker, and never on the first turn by code that did not read the
context), when repeats reach ``loop_limit`` (reason ``loop``: the same reply,
or the same code with the same output, each repeat told to the model first),
after ``max_iterations`` root turns, or when the budget ends it. When the
turns run out or a loop ends them, one last call (a ``final_answer`` step)
asks for the answer from what the code printed. With ``fallback_after`` set (``auto`` mode), a
model whose code fails that many times, or that never answers, hands the
question to plan mode within the same run (a ``fallback`` step says why).
With a ``session`` the REPL is kept across questions (:mod:`.repl_session`).
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from typing import Any

from .. import prompts, steps
from ..context import Context
from ..errors import PromptTooLong, StopReason, StopRun
from ..requests import Generate, Outcome, Record, Request, StrategyGen
from ..sandbox import Sandbox, SandboxConfig
from ..tools.base import Tool
from ..types import Message, assistant, user
from .code_guard import CODE_GRAMMAR, LoopGuard, reads_context
from .code_prompt import (
    FINAL_CALL,
    confirm_note,
    final_answer_of,
    final_request,
    output_message,
    repeat_note,
    root_prompt,
)
from .recursive_code_calls import HostCalls
from .recursive_plan import RecursivePlan
from .recursive_repl import SETUP, Bridge
from .repl_helpers import ANSWER_CHECK, ANSWER_RESET, HELPERS
from .repl_output import SHOW_VARS, observation
from .repl_session import ReplSession, Router
from .repl_tools import setup_code, tool_lines

_BLOCK = re.compile(r"```(?:python|py|repl)?[ \t]*\n(.*?)```", re.DOTALL)
#: the temperature of the root's next reply after a repeat (sampled, seeded by the turn)
REPEAT_TEMPERATURE = 0.8
#: characters the REPL captures per block before the observation is clipped to ``max_output``
CAPTURE = 1_000_000


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
class RecursiveCode(HostCalls):
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
    #: each root reply constrained to one ```python block, where the backend takes a grammar
    constrained: bool = True
    #: repeats (a reply, or a block with the same output, seen before) that end the run with reason ``loop``
    loop_limit: int = 3
    #: when the turns run out (or a loop ends them), one last call asks for the answer
    final_call: bool = True
    #: answers held back once each for a check (the question shown again) before one stands; 0: every FINAL stands
    confirm: int = 0
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
            sandbox.run(HELPERS, setup=True)
            if self.session is not None:
                restored = yield from self.session.open(sandbox, router, bridge, question, self.context)
                yield Record(
                    steps.SESSION,
                    f"session {self.session.name}: turn {restored['turn']}, {restored['restored_turns']} earlier "
                    f"turn(s) restored ({restored['cells']} cells replayed)",
                    restored,
                )
                sandbox.run(ANSWER_RESET)  # an earlier question's ready answer is not this one's
            history = self._prompt(question)
            loops = LoopGuard(self.loop_limit)
            failures = turns = repeats_seen = 0
            held: list[str] = []  # answers held back once for a check
            ran: list[str] = []  # every block run, to tell which parts of an answer were never searched for
            grammar = CODE_GRAMMAR if self.constrained else None
            try:
                while True:
                    if turns >= self.max_iterations:
                        why = f"no FINAL answer after {turns} turns"
                        return (yield from self._last_call(question, history, "rounds", why, failures, turns))
                    try:
                        # after a repeat, the next reply is sampled: a greedy small model says the same again
                        hot = loops.repeats > repeats_seen
                        reply = (
                            yield Generate.of(
                                history,
                                kind=steps.CODE,
                                grammar=grammar,
                                temperature=REPEAT_TEMPERATURE if hot else None,
                                seed=turns if hot else None,
                            )
                        ).text
                    except PromptTooLong as long:  # not a turn: the same turn again, on a shorter prompt
                        history = yield from _forget_oldest(history, long)
                        continue
                    turns += 1
                    repeats_seen = loops.repeats
                    history.append(assistant(reply))
                    blocks = code_blocks(reply)
                    notes: list[str] = []
                    if not blocks:
                        yield Record(steps.REPL, "no code block in the reply", {"ok": False})
                        failures += 1
                        if self._give_up(failures):
                            return GaveUp(f"{failures} replies or blocks that did not run", failures, turns)
                        note = yield from self._repeat(loops.reply(turns, reply), loops, code=False)
                        if loops.over:
                            why = f"{loops.repeats} repeated replies"
                            return (yield from self._last_call(question, history, "loop", why, failures, turns))
                        history.append(user(prompts.load("recursive/code_nocode") + note))
                        continue
                    outputs = []
                    for i, code in enumerate(blocks):
                        result = yield from self._execute(bridge, sandbox, code)
                        if self.confirm:  # what was searched for, for the check (an answer given is not a search)
                            ran.append(FINAL_CALL.sub("", code))
                        if self.session is not None:
                            self.session.cell(sandbox, router, code, result)
                            if result.restarted:  # the worker was lost: the session's REPL comes back
                                result = yield from self.session.recover(sandbox, router, bridge, result)
                        out = observation(result, self.max_output)
                        outputs.append(out)
                        if bridge.answer is None and result.ok:
                            self._answer_dict(sandbox, router)
                        if bridge.answer is not None:
                            if turns == 1 and not reads_context("\n".join(blocks[: i + 1])):
                                bridge.answer = None  # the first-turn rule: look before answering
                                yield Record(
                                    steps.REPL, "an answer before looking at the context: refused", {"ok": False}
                                )
                                notes.append(prompts.load("recursive/code_first"))
                                break
                            answer = str(bridge.answer).strip()
                            if len(held) < self.confirm and answer not in held:
                                held.append(answer)
                                bridge.answer = None
                                sandbox.run(ANSWER_RESET)  # a ready answer dict is held back too
                                yield Record(steps.REPL, "an answer held back for a check", {"ok": True})
                                notes.append(confirm_note(answer, question, held[:-1], "\n".join(ran)))
                                break
                            return self._end(Outcome(bridge.answer, "answered", "the code called FINAL"), history)
                        earlier = loops.code(turns, code, out)
                        if earlier is not None and held:  # the check found nothing new: the last answer stands
                            why = f"the code called FINAL; the check after it repeated turn {earlier}"
                            return self._end(Outcome(held[-1], "answered", why), history)
                        note = yield from self._repeat(earlier, loops, code=True)
                        if earlier is not None:  # not shown again: it already misled the model once
                            outputs[-1] = f"(the same output as turn {earlier})"
                            notes.append(note.strip())
                        if not result.ok:
                            failures += 1
                            if self._give_up(failures):
                                return GaveUp(f"{failures} replies or blocks that did not run", failures, turns)
                            break  # the rest of the reply was written before this block failed
                    if loops.over:
                        why = f"{loops.repeats} repeated blocks with the same output"
                        return (yield from self._last_call(question, history, "loop", why, failures, turns))
                    history.append(output_message(outputs, turns, self.max_iterations, notes))
            except StopRun as stop:
                return self._end(Outcome(bridge.answer, stop.reason, stop.detail), history)
            finally:
                bridge.stopped = True

    def _repeat(self, earlier: int | None, loops: LoopGuard, *, code: bool) -> Generator[Request, Any, str]:
        """The note for a repeat of turn ``earlier`` (recorded as a ``loop`` step), or "" for none."""
        if earlier is None:
            return ""
        what = "the same code and output" if code else "the same reply"
        yield Record(
            steps.LOOP,
            f"{what} as turn {earlier} ({loops.repeats} of {loops.limit} repeats)",
            {"earlier": earlier, "repeats": loops.repeats, "limit": loops.limit},
        )
        return "\n\n" + repeat_note(earlier, code)

    def _answer_dict(self, sandbox: Sandbox, router: Router) -> None:
        """The ``answer`` dict convention: ``answer["ready"]`` set ends the run with ``answer["content"]``."""
        sandbox.run(ANSWER_CHECK)
        router.take()  # not a cell of the session: its host call is not replayed

    def _last_call(
        self, question: str, history: list[Message], reason: StopReason, why: str, failures: int, turns: int
    ) -> Generator[Request, Any, Outcome | GaveUp]:
        """The turns ran out (or a loop ended them): one last call asks for the answer from what was found.
        Without an answer from it, auto mode falls back to plan mode."""
        answer = None
        if self.final_call:
            messages = final_request(history, question)
            while answer is None:
                try:
                    completion = yield Generate.of(messages, kind=steps.FINAL_ANSWER)
                except PromptTooLong as long:
                    history = yield from _forget_oldest(history, long)
                    messages = final_request(history, question)
                    continue
                answer = final_answer_of(completion.text) or ""
        if answer:
            return self._end(Outcome(answer, reason, f"{why}; answered by the final-answer call"), history)
        if self.fallback_after is not None:
            return GaveUp(why, failures, turns)
        return self._end(Outcome(None, reason, why), history)

    def _give_up(self, failures: int) -> bool:
        return self.fallback_after is not None and failures >= self.fallback_after

    def _end(self, outcome: Outcome, history: list[Message]) -> Outcome:
        if self.session is not None:
            self.session.finish(outcome.answer, [{"role": m.role, "content": m.content} for m in history])
        return outcome

    def _prompt(self, question: str) -> list[Message]:
        session = ""
        if self.session is not None and self.session.turn:
            turn = self.session.turn
            session = (
                f"\n\nThis is question {turn + 1} of a session: the REPL keeps every variable of earlier questions;"
                f" their contexts are context_0 ... context_{turn - 1} and their conversations history_0 ..."
                f" history_{turn - 1} (this question's context is context_{turn}). SHOW_VARS() lists them."
                + self.session.note()
            )
        return root_prompt(
            question,
            self.context,
            max_output=self.max_output,
            chunk_chars=self.chunk_chars,
            turns=self.max_iterations,
            tools=tool_lines(self.tools),
            session=session,
        )

    def _child(self, context: Any) -> RecursiveCode:
        return replace(
            self,
            context=context,
            depth=self.depth + 1,
            aggregate="none" if self.aggregate == "count" else self.aggregate,
            session=None,
        )
