"""The one protocol every backend implements.

A backend turns a list of messages into a :class:`~ponder.types.Completion`.
It has exactly one method that does work, :meth:`Model.complete`; streaming is
optional and is offered through the ``on_text`` callback, which receives text
pieces as they are produced. Capabilities are plain attributes, never
``isinstance`` checks (nor guesses from the model's name). A backend that
can be loaded again by name (for ``ponder resume``) also sets ``spec``: the
string :func:`~ponder.models.load_model` takes (``smollm2``, ``openai:NAME``).

Optional capabilities, read with ``getattr`` (a plugin need not have them):
``preferred_tool_protocol`` (``native`` or ``text``: what react's ``--tool-protocol
auto`` picks; default native when ``supports_tools``) and ``cacheable`` (whether
identical deterministic calls may be answered from the completion cache; default
True) and ``reports_cost`` (whether a completion's usage may carry the dollars the
call cost, so a dollar limit needs no price for the model; default False) and
``template_tokens`` (the prompt tokens its chat template adds per message, beyond
``count_tokens`` of the contents: a dollar limit's estimate; default 8). ``supports_batch``
(default False) says the backend has ``complete_batch(calls, on_done, poll)``
(:class:`BatchCompleter`): several calls made together, their results handed back as each ends
(the embedded llama.cpp backend decodes them in one pass per step); the engine makes a
:class:`~ponder.requests.Batch` of calls on one such model that way. A backend raises
:class:`~ponder.errors.PromptTooLong` for a prompt that does
not fit its window, before calling anything.
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
    #: whether several calls may run at the same time (remote servers: yes;
    #: an in-process model: no, the engine serialises calls to it)
    supports_concurrency: bool

    # read-only capabilities: a plain attribute, or a property (a server backend learns them from a probe)

    @property
    def context_window(self) -> int:
        """Maximum number of tokens (prompt + completion) the model can attend to."""
        ...

    @property
    def supports_tools(self) -> bool:
        """Whether the backend accepts native tool-call schemas."""
        ...

    @property
    def supports_grammar(self) -> bool:
        """Whether ``GenerationOptions.grammar`` (GBNF) constrains the reply (in whatever form the backend sends it)."""
        ...

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


#: called with a call's position in the batch and its completion, or the exception it failed with
BatchDone = Callable[[int, "Completion | Exception"], None]


@runtime_checkable
class BatchCompleter(Protocol):
    """A backend that makes several calls together (``supports_batch``)."""

    @property
    def supports_batch(self) -> bool: ...

    def complete_batch(
        self,
        calls: Sequence[tuple[Sequence[Message], GenerationOptions]],
        on_done: BatchDone,
        poll: Callable[[], None] | None = None,
    ) -> None:
        """Make ``calls``; ``on_done(i, outcome)`` on this thread as each ends (a failed call is its
        exception, the others go on). ``poll`` is called while waiting: when it raises, the calls
        not ended are cancelled and the exception goes on."""
        ...
