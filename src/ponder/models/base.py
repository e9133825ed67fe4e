"""The one protocol every backend implements.

A backend turns a list of messages into a :class:`~ponder.types.Completion`.
It has exactly one method that does work, :meth:`Model.complete`; streaming is
optional and is offered through the ``on_text`` callback, which receives text
pieces as they are produced. Capabilities are plain attributes, never
``isinstance`` checks (nor guesses from the model's name). A backend that
can be loaded again by name (for ``ponder resume``) also sets ``spec``: the
string :func:`~ponder.models.load_model` takes (``smollm2``, ``openai:NAME``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from ..types import Completion, GenerationOptions, Message

TextCallback = Callable[[str], None]


@runtime_checkable
class Model(Protocol):
    """A chat-completion backend."""

    #: the name shown in results and traces, e.g. ``smollm2`` or ``openai:gpt-4o-mini``
    name: str
    #: maximum number of tokens (prompt + completion) the model can attend to
    context_window: int
    #: whether the backend accepts native tool-call schemas
    supports_tools: bool
    #: whether several calls may run at the same time (remote servers: yes;
    #: an in-process model: no, the engine serialises calls to it)
    supports_concurrency: bool
    #: whether ``GenerationOptions.grammar`` (GBNF) is honoured
    supports_grammar: bool
    #: whether the model can write the Python of ``recursive`` code mode (``mode="auto"`` picks
    #: code mode for it); a run spec may override it per model
    writes_code: bool

    def complete(
        self,
        messages: Sequence[Message],
        options: GenerationOptions,
        on_text: TextCallback | None = None,
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> Completion:
        """Run one chat completion.

        ``on_text`` (if given) receives streamed text. ``tools`` are OpenAI-style
        function schemas, passed only to backends with ``supports_tools``; the
        model's native calls come back in ``Completion.tool_calls``.
        """
        ...

    def count_tokens(self, text: str) -> int:
        """Number of tokens ``text`` has for this model (its tokenizer where it has one)."""
        ...
