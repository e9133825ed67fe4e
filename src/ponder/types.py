"""Plain data types shared by the whole runtime: messages, completions, usage.

Everything here is a small dataclass with no behaviour beyond arithmetic and
serialisation, so it can be created cheaply on the engine's hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .guards.text import clean, is_clean

#: who speaks in a chat message (not the model roles of a run: :data:`ponder.requests.ModelRole`)
MessageRole = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "error"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A native tool call requested by the model (OpenAI-style); ``arguments`` is the raw JSON text."""

    id: str
    name: str
    arguments: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}

    def cleaned(self) -> ToolCall:
        """This call with valid Unicode text (:func:`ponder.guards.text.clean`)."""
        return self if self.is_clean() else ToolCall(clean(self.id), clean(self.name), clean(self.arguments))

    def is_clean(self) -> bool:
        return is_clean(self.id) and is_clean(self.name) and is_clean(self.arguments)


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message, exactly as it is sent to a backend.

    ``tool_calls`` (on assistant messages) and ``tool_call_id`` (on ``tool``
    messages) are only used with backends that support native tool calls.
    """

    role: MessageRole
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out


def clean_messages(messages: Sequence[Message]) -> tuple[Message, ...]:
    """``messages`` with valid Unicode text (:func:`ponder.guards.text.clean`); the same tuple when nothing changes."""
    for m in messages:  # the common case, on every call: one C-speed scan per message, nothing built
        if not is_clean(m.content) or (m.tool_calls and not all(c.is_clean() for c in m.tool_calls)):
            break
    else:
        return messages if isinstance(messages, tuple) else tuple(messages)
    return tuple(
        replace(m, content=clean(m.content), tool_calls=tuple(c.cleaned() for c in m.tool_calls)) for m in messages
    )


def system(content: str) -> Message:
    return Message("system", content)


def user(content: str) -> Message:
    return Message("user", content)


def assistant(content: str) -> Message:
    return Message("assistant", content)


@dataclass(slots=True)
class Usage:
    """Token accounting for one call or a whole run.

    ``prompt_tokens`` is what was sent; ``prompt_tokens_evaluated`` is what the
    backend actually had to process (smaller when a cached KV prefix was reused).
    ``cached_calls`` counts calls answered from the completion cache (:mod:`ponder.engine.call_cache`),
    which cost no tokens and no model call; ``shared_calls`` are those of them that another run had
    made (through the store's cache: this run neither made them nor had them before) and
    ``shared_tokens`` what they cost when made, so a report can say what a run would cost alone. ``cost`` is in US dollars: what the server reported,
    or the model's price (:mod:`ponder.engine.prices`); None when neither is known (for a sum: the
    calls with a known cost).
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_tokens_evaluated: int = 0
    model_calls: int = 0
    cached_calls: int = 0
    cost: float | None = None
    shared_calls: int = 0
    shared_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.prompt_tokens_evaluated += other.prompt_tokens_evaluated
        self.model_calls += other.model_calls
        self.cached_calls += other.cached_calls
        self.shared_calls += other.shared_calls
        self.shared_tokens += other.shared_tokens
        if other.cost is not None:
            self.cost = other.cost if self.cost is None else self.cost + other.cost

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "prompt_tokens_evaluated": self.prompt_tokens_evaluated,
            "model_calls": self.model_calls,
            "total_tokens": self.total_tokens,
        }
        # only when there are some: older readers see the same keys as before
        if self.cached_calls:
            out["cached_calls"] = self.cached_calls
        if self.shared_calls:
            out["shared_calls"] = self.shared_calls
            out["shared_tokens"] = self.shared_tokens
        if self.cost is not None:
            out["cost"] = round(self.cost, 12)
        return out


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    """Sampling options for one model call. Validated on construction."""

    temperature: float = 0.0
    max_tokens: int = 512
    seed: int | None = 0
    stop: tuple[str, ...] = ()
    top_p: float = 1.0
    #: a GBNF grammar constraining the output. A hint: honoured by backends with
    #: ``supports_grammar`` (the embedded/GGUF backend; servers in the form they take, see
    #: :mod:`ponder.grammar.constraint`), ignored by the others.
    grammar: str | None = None
    #: with native tools: ``auto`` (the model may answer in text) or ``required`` (it must call a tool);
    #: sent to servers that take ``tool_choice``, ignored by the others. None: the server's default.
    tool_choice: str | None = None

    def __post_init__(self) -> None:
        from .errors import ConfigError
        from .guards.numbers import finite, whole

        finite("temperature", self.temperature)
        finite("top_p", self.top_p)
        whole("max_tokens", self.max_tokens)
        if self.seed is not None:
            whole("seed", self.seed)

        if self.tool_choice not in (None, "auto", "required", "none"):
            raise ConfigError(f"tool_choice must be auto, required or none, got {self.tool_choice!r}")
        if self.temperature < 0:
            raise ConfigError(f"temperature must be >= 0, got {self.temperature}")
        if self.max_tokens < 1:
            raise ConfigError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p}")


@dataclass(frozen=True, slots=True)
class Completion:
    """What one backend call returns."""

    text: str
    finish_reason: FinishReason = "stop"
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    tool_calls: tuple[ToolCall, ...] = ()

    def cleaned(self) -> Completion:
        """This completion with valid Unicode text (:func:`ponder.guards.text.clean`): what a backend returned is
        text from outside. The same object when it already is."""
        if is_clean(self.text) and (not self.tool_calls or all(c.is_clean() for c in self.tool_calls)):
            return self
        return replace(self, text=clean(self.text), tool_calls=tuple(c.cleaned() for c in self.tool_calls))

    #: why the call failed (finish reason ``error``: one failed element of a batch that went on)
    error: str | None = None
