"""Memory: keep an iterative strategy's prompt within a token budget.

An iterative strategy (react, refine) grows one conversation. When the next
prompt would pass ``threshold`` × ``window`` tokens, :meth:`Memory.compact`
replaces the *older* steps with one message of notes, while the head (system
prompt, examples, the task) and the latest ``keep_last`` messages stay
verbatim. The notes are written by a model call (``mode="summary"``, a
visible ``compact`` step) or are each old message clipped to a short line
(``mode="notes"``, no model call). The full history stays in the run's
events: compaction only changes what the *next* prompts contain.

Why a block, once, and not a sliding window: the embedded backend reuses the
KV cache of the longest common prompt prefix, so a prompt that only grows by
appending costs just its new tokens. A sliding window (drop the oldest step
every turn) changes the prefix every turn and makes every prompt a full
re-evaluation. Compacting a big block when the threshold is crossed breaks
the prefix once; the prompts then grow by appending again until the next
crossing (which folds the previous notes into new ones). The price: just
after a compaction the prompt is smaller than it could be, so a little recent
detail is summarised earlier than strictly necessary.

Token counts come from the backend's tokenizer without asking the engine:
each completion reports how many tokens its prompt had (``usage.prompt_tokens``),
which gives this model's tokens-per-character for the conversation so far.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .. import prompts, steps
from ..errors import ConfigError
from ..requests import Generate, Record, Request
from ..types import Completion, Message, assistant, user


def _chars(messages: Sequence[Message]) -> int:
    return sum(len(m.content) for m in messages)


@dataclass(frozen=True, slots=True)
class Memory:
    """When and how to compact a conversation (see the module docs)."""

    window: int = 8192
    threshold: float = 0.8
    keep_last: int = 4
    mode: Literal["summary", "notes"] = "summary"
    note_chars: int = 200
    #: tokens per character assumed before any completion reports a real count
    default_ratio: float = 0.3

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= 1:
            raise ConfigError(f"memory threshold must be in (0, 1], got {self.threshold}")
        if self.window < 1 or self.keep_last < 1:
            raise ConfigError("memory window and keep_last must be >= 1")
        if self.mode not in ("summary", "notes"):
            raise ConfigError(f"memory mode must be summary or notes, got {self.mode!r}")

    @property
    def limit(self) -> int:
        """Prompt size (tokens) above which the history is compacted."""
        return int(self.window * self.threshold)

    def estimate(self, history: Sequence[Message], last: Completion | None = None, sent: int = 0) -> int:
        """Tokens the next prompt will have: ``history``'s characters at the ratio measured on the
        last call (``last.usage.prompt_tokens`` for a prompt of ``sent`` characters)."""
        ratio = self.default_ratio
        if last is not None and sent > 0 and last.usage.prompt_tokens > 0:
            ratio = last.usage.prompt_tokens / sent
        return int(_chars(history) * ratio)

    def needs(self, history: Sequence[Message], last: Completion | None = None, sent: int = 0) -> bool:
        return self.estimate(history, last, sent) > self.limit

    def compact(
        self, history: Sequence[Message], head: int, *, native: bool = False
    ) -> Generator[Request, Any, list[Message]]:
        """Return ``history`` with messages ``head:`` (except the latest few) folded into notes.

        Text protocol: the notes go in an assistant message so the roles keep
        alternating, and the kept tail starts with a user message (an
        observation or request). ``native`` tool-call history: the kept tail
        starts with an assistant message, so every tool result stays right after
        the call that asked for it, and the notes go in a user message.
        """
        first_role = "assistant" if native else "user"
        start = max(head, len(history) - self.keep_last)
        while start < len(history) and history[start].role != first_role:
            start += 1
        old = list(history[head:start])
        if not old or start >= len(history):
            return list(history)
        before = _chars(old)
        if self.mode == "summary":
            task = history[head - 1].content if head > 0 else ""
            transcript = "\n".join(f"[{m.role}] {m.content}" for m in old)
            request = user(prompts.render("memory/compact", task=task, steps=transcript))
            notes = (yield Generate.of([request], kind=steps.COMPACT, data={"messages": len(old)})).text.strip()
        else:
            notes = "\n".join(f"- {_clip(m.content, self.note_chars)}" for m in old if m.content.strip())
        if native:
            message = user(prompts.render("memory/summary_native", notes=notes))
        else:
            message = assistant(prompts.render("memory/summary", notes=notes))
        yield Record(
            steps.COMPACT,
            f"compacted {len(old)} earlier messages ({before} characters) into {len(message.content)} characters",
            steps.CompactData(messages=len(old), chars_before=before, chars_after=len(message.content), mode=self.mode),
        )
        return [*history[:head], message, *history[start:]]


def _clip(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
