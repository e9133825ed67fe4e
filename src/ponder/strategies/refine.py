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
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from .. import prompts
from ..errors import StopRun
from ..requests import Generate, Outcome, Record, StrategyGen
from ..stop_learned import PassState, StopPolicy
from ..types import Message, assistant, system, user


def _normal(text: str) -> str:
    return " ".join(text.split()).lower()


def similarity(a: str, b: str) -> float:
    """Similarity of two drafts in [0, 1], ignoring case and whitespace."""
    return difflib.SequenceMatcher(None, _normal(a), _normal(b), autojunk=False).ratio()


@dataclass(frozen=True, slots=True)
class Refine:
    """Self-critique and revision (see module docs for the stopping rules)."""

    same_ratio: float = 0.98
    no_issues: str = "NO ISSUES"
    max_rounds: int | None = None
    system_prompt: str | None = None
    name: str = "refine"
    #: consulted after each pass (e.g. :class:`~ponder.stop_learned.LearnedStop`); stops early when it says so
    stop_policy: StopPolicy | None = None

    def run(self, question: str) -> StrategyGen:
        sys_prompt = self.system_prompt if self.system_prompt is not None else prompts.load("system")
        critique_ask = prompts.load("refine/critique")
        revise_ask = prompts.load("refine/revise")
        history: list[Message] = [system(sys_prompt), user(question)]
        draft: str | None = None
        drafts: list[str] = []
        try:
            completion = yield Generate.of(history, kind="draft")
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
                        "check", "the learned stop policy expects no further improvement", {"verdict": "learned_stop"}
                    )
                    return Outcome(draft, "converged", "the learned stop policy predicts no further improvement")
                rounds += 1
                history.append(user(critique_ask))
                reply = yield Generate.of(history, kind="critique")
                critique = reply.text.strip()
                tokens = state.tokens_used + reply.usage.total_tokens
                history.append(assistant(critique))
                if self._no_issues(critique):
                    yield Record("check", "critique found nothing to fix", {"verdict": "no_issues"})
                    return Outcome(draft, "converged", "the critique found nothing to fix")
                history.append(user(revise_ask))
                reply = yield Generate.of(history, kind="revision")
                revision = reply.text.strip()
                history.append(assistant(revision))
                tokens += reply.usage.total_tokens
                state = PassState(state.pass_index, draft, state.previous, critique, state.truncated, tokens)
                if not revision:
                    yield Record("check", "empty revision ignored", {"verdict": "empty"})
                    continue
                ratio = similarity(revision, draft)
                if ratio >= self.same_ratio:
                    yield Record("check", f"revision unchanged (similarity {ratio:.3f})", {"similarity": ratio})
                    return Outcome(revision, "converged", "the revision no longer changes the answer")
                earlier = [i for i, old in enumerate(drafts[:-1]) if similarity(revision, old) >= self.same_ratio]
                if earlier:
                    yield Record("check", f"revision repeats draft {earlier[0]}", {"similarity": ratio})
                    return Outcome(revision, "loop", f"the revision went back to draft {earlier[0]}")
                yield Record("check", f"revision changed the answer (similarity {ratio:.3f})", {"similarity": ratio})
                truncated = reply.finish_reason == "length"
                state = PassState(len(drafts), revision, draft, critique, truncated, tokens)
                draft = revision
                drafts.append(draft)
            return Outcome(draft, "max_steps", f"stopped after {self.max_rounds} rounds")
        except StopRun as stop:
            return Outcome(draft, stop.reason, stop.detail)  # type: ignore[arg-type]

    def _no_issues(self, critique: str) -> bool:
        head = critique.strip().lstrip("-*# ").upper()
        return head.startswith(self.no_issues.upper())
