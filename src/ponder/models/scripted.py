"""A scripted fake backend, shipped for tests and examples.

It replies from a queue, or by calling a function of the messages. A reply is
a string, or a full :class:`~ponder.types.Completion` (e.g. to script native
tool calls). Every call is recorded in :attr:`ScriptedModel.calls`, so a test
can assert exactly what a strategy sent. Token counts are whitespace words,
which is deterministic and good enough to exercise budgets.

    >>> from ponder.models import ScriptedModel
    >>> m = ScriptedModel(["first", "second"])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import ModelCallError, PromptTooLong
from ..types import Completion, FinishReason, GenerationOptions, Message, Usage
from .base import TextCallback

Reply = str | Completion
Responder = Callable[[Sequence[Message]], Reply]


@dataclass(frozen=True, slots=True)
class ScriptedCall:
    messages: tuple[Message, ...]
    options: GenerationOptions
    tools: tuple[dict[str, Any], ...] = ()


class ScriptedModel:
    """A fake :class:`~ponder.models.base.Model` with scripted replies.

    ``replies`` is either an iterable of replies (consumed in order; running out
    raises :class:`~ponder.errors.ModelCallError`) or a function from the
    message list to a reply. A queue is answered in call order, so by default
    it reports ``supports_concurrency=False`` (the engine then runs a batch's
    calls one by one, in order, and the replies land where the script says);
    a function may be called concurrently. A text reply longer than ``max_tokens`` words is
    cut and reported with finish reason ``length``, like a real backend; a prompt of
    ``context_window`` words or more raises :class:`~ponder.errors.PromptTooLong`.
    """

    supports_grammar = False
    #: no chat template: a prompt's tokens are its messages' words (a dollar limit's estimate is exact)
    template_tokens = 0

    def __init__(
        self,
        replies: Iterable[Reply] | Responder,
        *,
        name: str = "scripted",
        context_window: int = 8192,
        supports_concurrency: bool | None = None,
        supports_tools: bool = False,
        writes_code: bool = False,
        cacheable: bool = False,
    ) -> None:
        if callable(replies):
            self._responder: Responder | None = replies
            self._queue: list[Reply] = []
        else:
            self._responder = None
            self._queue = list(replies)
        self.name = name
        self.context_window = context_window
        self.supports_concurrency = callable(replies) if supports_concurrency is None else supports_concurrency
        self.supports_tools = supports_tools
        self.writes_code = writes_code
        #: a reply queue is a sequence, not a function of the prompt: identical calls are not cached
        #: (:mod:`ponder.engine.call_cache`) unless told so
        self.cacheable = cacheable
        #: the spec that loads this fake again by name (only the echo fake of ``load_model("scripted")`` has one)
        self.spec: str | None = None
        self.calls: list[ScriptedCall] = []

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def complete(
        self,
        messages: Sequence[Message],
        options: GenerationOptions,
        on_text: TextCallback | None = None,
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> Completion:
        prompt = sum(self.count_tokens(m.content) for m in messages)
        if prompt >= self.context_window:  # like a real backend, before the call
            raise PromptTooLong(self.name, prompt, self.context_window)
        self.calls.append(ScriptedCall(tuple(messages), options, tuple(tools or ())))
        if self._responder is not None:
            reply = self._responder(messages)
        elif self._queue:
            reply = self._queue.pop(0)
        else:
            raise ModelCallError("scripted model has no replies left")
        if isinstance(reply, Completion):
            if on_text is not None and reply.text:
                on_text(reply.text)
            usage = Usage(prompt, self.count_tokens(reply.text), prompt, 1)
            return replace(reply, usage=usage, model=reply.model or self.name)
        text = reply
        finish: FinishReason = "stop"
        if len(text.split()) > options.max_tokens:
            text = " ".join(text.split(" ")[: options.max_tokens])
            finish = "length"
        if on_text is not None:
            on_text(text)
        usage = Usage(prompt, self.count_tokens(text), prompt, 1)
        return Completion(text=text, finish_reason=finish, usage=usage, model=self.name)
