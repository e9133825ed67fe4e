"""``refine``: draft, critique the draft, revise; repeat until nothing changes.

The whole exchange is one growing conversation::

    system, question → draft, critique request → critique, revise request → revision, ...

so each prompt is the previous prompt plus the previous output plus a fixed
instruction. That keeps prompts byte-stable across iterations, which lets the
embedded backend reuse its KV cache and evaluate only the new tokens.

Stops with

* ``converged`` when the critique says there is nothing to fix (it starts with
  the ``no_issues`` marker) or when a revision is (nearly) the same as the
  draft it revises (similarity >= ``same_ratio``);
* ``loop`` when a revision returns to an earlier draft (A → B → A);
* ``max_steps`` / ``budget`` when the engine's budget ends the run; the latest
  draft is the answer.

With a :class:`~ponder.strategies.memory.Memory`, a conversation that outgrows its token
budget has its older passes folded into notes before the next call (the
system prompt and the question stay verbatim; the events keep everything).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from .. import prompts, steps
from ..access import CLIENT
from ..errors import StopRun
from ..requests import Generate, Outcome, Record, Request, StrategyGen
from ..stop import PassState, StopPolicy, require_state, similarity
from ..types import Completion, Message, assistant, system, user
from .entry import Option, StrategyEntry
from .memory import Memory


@dataclass(frozen=True, slots=True)
class Refine:
    """Self-critique and revision (see module docs for the stopping rules)."""

    same_ratio: float = 0.98
    no_issues: str = "NO ISSUES"
    max_rounds: int | None = None
    system_prompt: str | None = None
    name: str = "refine"
    #: consulted after each pass (e.g. :class:`~ponder.stop.LearnedStop`); stops early when it says so
    stop_policy: StopPolicy | None = None
    #: keeps the growing conversation within a token budget (older passes folded into notes)
    memory: Memory | None = None

    def __post_init__(self) -> None:
        require_state(self.stop_policy, "refine")  # a policy fitted on consistency waves is a ConfigError

    def run(self, question: str) -> StrategyGen:
        sys_prompt = self.system_prompt if self.system_prompt is not None else prompts.load("system")
        critique_ask = prompts.load("refine/critique")
        revise_ask = prompts.load("refine/revise")
        history: list[Message] = [system(sys_prompt), user(question)]
        draft: str | None = None
        drafts: list[str] = []
        try:
            completion = last = yield Generate.of(history, kind=steps.DRAFT)
            draft = completion.text.strip()
            drafts.append(draft)
            history.append(assistant(draft))
            state = PassState(
                0, draft, truncated=completion.finish_reason == "length", tokens_used=completion.usage.total_tokens
            )
            rounds = 0
            while self.max_rounds is None or rounds < self.max_rounds:
                if self.stop_policy is not None and self.stop_policy.should_stop(state):
                    yield Record(
                        steps.CHECK,
                        "the learned stop policy expects no further improvement",
                        steps.CheckData(verdict="learned_stop"),
                    )
                    return Outcome(draft, "converged", "the learned stop policy predicts no further improvement")
                rounds += 1
                history.append(user(critique_ask))
                history, reply = yield from self._ask(history, last, steps.CRITIQUE)
                critique = reply.text.strip()
                tokens = state.tokens_used + reply.usage.total_tokens
                history.append(assistant(critique))
                if self._no_issues(critique):
                    yield Record(steps.CHECK, "critique found nothing to fix", steps.CheckData(verdict="no_issues"))
                    return Outcome(draft, "converged", "the critique found nothing to fix")
                history.append(user(revise_ask))
                history, reply = yield from self._ask(history, reply, steps.REVISION)
                last = reply
                revision = reply.text.strip()
                history.append(assistant(revision))
                tokens += reply.usage.total_tokens
                state = PassState(state.pass_index, draft, state.previous, critique, state.truncated, tokens)
                if not revision:
                    yield Record(steps.CHECK, "empty revision ignored", steps.CheckData(verdict="empty"))
                    continue
                ratio = similarity(revision, draft)
                if ratio >= self.same_ratio:
                    yield Record(
                        steps.CHECK, f"revision unchanged (similarity {ratio:.3f})", steps.CheckData(similarity=ratio)
                    )
                    return Outcome(revision, "converged", "the revision no longer changes the answer")
                earlier = [i for i, old in enumerate(drafts[:-1]) if similarity(revision, old) >= self.same_ratio]
                if earlier:
                    yield Record(steps.CHECK, f"revision repeats draft {earlier[0]}", steps.CheckData(similarity=ratio))
                    return Outcome(revision, "loop", f"the revision went back to draft {earlier[0]}")
                changed = f"revision changed the answer (similarity {ratio:.3f})"
                yield Record(steps.CHECK, changed, steps.CheckData(similarity=ratio))
                truncated = reply.finish_reason == "length"
                state = PassState(len(drafts), revision, draft, critique, truncated, tokens)
                draft = revision
                drafts.append(draft)
            return Outcome(draft, "rounds", f"stopped after {self.max_rounds} rounds")
        except StopRun as stop:
            return Outcome(draft, stop.reason, stop.detail)

    def _ask(
        self, history: list[Message], last: Completion, kind: str
    ) -> Generator[Request, Any, tuple[list[Message], Completion]]:
        """One call on ``history``, compacted first when it has outgrown the memory's budget.

        ``last`` is the previous call, whose prompt was ``history`` without its two newest
        messages (the reply and the new instruction); its real token count calibrates the
        memory's estimate. The system prompt and the question always stay verbatim.
        """
        if self.memory is not None:
            sent = sum(len(m.content) for m in history[:-2])
            if self.memory.needs(history, last, sent):
                history = yield from self.memory.compact(history, 2)
        reply: Completion = yield Generate.of(history, kind=kind)
        return history, reply

    def _no_issues(self, critique: str) -> bool:
        head = critique.strip().lstrip("-*# ").upper()
        return head.startswith(self.no_issues.upper())


ENTRY = StrategyEntry(
    "refine",
    Refine,
    "draft, critique, revise until nothing changes",
    options=(
        Option(
            "max_rounds",
            int,
            "refine: most critique-revise rounds (default: until converged).",
            minimum=1,
            maximum=1000,
            nullable=True,
            access=CLIENT,
            client_max=16,
        ),
        Option(
            "same_ratio",
            float,
            "refine: similarity at which a revision counts as unchanged.",
            minimum=0,
            maximum=1,
            access=CLIENT,
        ),
        Option("no_issues", str, "refine: the critique's marker for nothing to fix.", access=CLIENT, max_length=200),
    ),
    memory=True,
    stop_state="refine",
)
