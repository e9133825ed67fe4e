"""A scripted fake backend, shipped for tests and examples.

It replies from a queue of strings, or by calling a function of the messages.
Every call is recorded in :attr:`ScriptedModel.calls`, so a test can assert
exactly what a strategy sent. Token counts are whitespace words, which is
deterministic and good enough to exercise budgets.

    >>> from ponder.models import ScriptedModel
    >>> m = ScriptedModel(["first", "second"])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ..errors import ModelCallError
from ..types import Completion, GenerationOptions, Message, Usage
from .base import TextCallback

Responder = Callable[[Sequence[Message]], str]


@dataclass(frozen=True, slots=True)
class ScriptedCall:
    messages: tuple[Message, ...]
    options: GenerationOptions


class ScriptedModel:
    """A fake :class:`~ponder.models.base.Model` with scripted replies.

    ``replies`` is either an iterable of strings (consumed in order; running out
    raises :class:`~ponder.errors.ModelCallError`) or a function from the
    message list to a reply. A reply longer than ``max_tokens`` words is cut and
    reported with finish reason ``length``, like a real backend.
    """

    supports_tools = False

    def __init__(
        self,
        replies: Iterable[str] | Responder,
        *,
        name: str = "scripted",
        context_window: int = 8192,
        supports_concurrency: bool = True,
    ) -> None:
        if callable(replies):
            self._responder: Responder | None = replies
            self._queue: list[str] = []
        else:
            self._responder = None
            self._queue = list(replies)
        self.name = name
        self.context_window = context_window
        self.supports_concurrency = supports_concurrency
        self.calls: list[ScriptedCall] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def complete(
        self,
        messages: Sequence[Message],
        options: GenerationOptions,
        on_text: TextCallback | None = None,
    ) -> Completion:
        self.calls.append(ScriptedCall(tuple(messages), options))
        if self._responder is not None:
            text = self._responder(messages)
        elif self._queue:
            text = self._queue.pop(0)
        else:
            raise ModelCallError("scripted model has no replies left")
        words = text.split(" ")
        finish: str = "stop"
        if len(text.split()) > options.max_tokens:
            text = " ".join(words[: options.max_tokens])
            finish = "length"
        if on_text is not None:
            on_text(text)
        prompt = sum(self.count_tokens(m.content) for m in messages)
        usage = Usage(
            prompt_tokens=prompt,
            completion_tokens=self.count_tokens(text),
            prompt_tokens_evaluated=prompt,
            model_calls=1,
        )
        return Completion(text=text, finish_reason=finish, usage=usage, model=self.name)  # type: ignore[arg-type]
