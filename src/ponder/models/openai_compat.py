"""Any OpenAI-compatible server (vLLM, Ollama, llama.cpp's server, OpenAI).

Uses the official ``openai`` SDK, whose client retries transient failures
(connection errors, 408, 409, 429 and 5xx) with exponential backoff and
jitter (0.5 s doubling, or the server's ``Retry-After``/``retry-after-ms``);
``max_retries`` and ``timeout`` are configurable, the backoff is not (the SDK
has no public setting for it). Errors that a person must fix become one-line
:mod:`ponder.errors` exceptions:

=====================================  ==========================================
what happened                          raises
=====================================  ==========================================
connection refused / reset, timeout    :class:`~ponder.errors.ModelUnavailableError`
401 / 403 (the key)                    :class:`~ponder.errors.ModelUnavailableError`
429 / 5xx still failing after retries  :class:`~ponder.errors.ModelUnavailableError`
404 (unknown model or wrong URL)       :class:`~ponder.errors.ModelNotFoundError`
any other error answer (400, 422 ...)  :class:`~ponder.errors.ModelCallError`
=====================================  ==========================================

Usage: servers report token counts in the response; for streams we ask for
them with ``stream_options.include_usage``. A server that sends none gets an
estimate (about 4 characters per token), so budgets still work. A server that
rejects ``stream_options`` altogether (a 400/422 naming it) is asked again
without it, and is not sent it again.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..errors import ModelCallError, ModelNotFoundError, ModelUnavailableError
from ..types import Completion, GenerationOptions, Message, ToolCall, Usage
from .base import TextCallback

DEFAULT_CONTEXT_WINDOW = 8192


class OpenAIModel:
    """A chat model behind an OpenAI-compatible HTTP API."""

    supports_concurrency = True
    supports_grammar = False
    #: a server's model is assumed to write code (recursive code mode); override per model in the run spec
    writes_code = True

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 3,
        context_window: int = DEFAULT_CONTEXT_WINDOW,
        supports_tools: bool = True,
    ) -> None:
        try:
            import openai
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise ModelUnavailableError("the 'openai' package is not installed") from exc
        if not model:
            raise ModelNotFoundError("openai:MODEL needs a model name, e.g. openai:gpt-4o-mini")
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if key is None:
            if self.base_url is None:
                raise ModelUnavailableError(
                    "openai:MODEL needs OPENAI_API_KEY, or --base-url/OPENAI_BASE_URL for a local server"
                )
            key = "not-needed"  # local servers usually ignore the key, but the SDK requires one
        self.model = model
        self.name = f"openai:{model}"
        self.spec = self.name
        self.context_window = context_window
        self.supports_tools = supports_tools
        self.timeout = timeout
        self.max_retries = max_retries
        #: whether streamed calls ask for usage (turned off when a server rejects ``stream_options``)
        self.stream_usage = True
        self._openai = openai
        self._client = openai.OpenAI(base_url=self.base_url, api_key=key, timeout=timeout, max_retries=max_retries)

    def count_tokens(self, text: str) -> int:
        # no tokenizer for a remote model: a conservative estimate (~4 characters per token)
        return max(1, (len(text) + 3) // 4) if text else 0

    def complete(
        self,
        messages: Sequence[Message],
        options: GenerationOptions,
        on_text: TextCallback | None = None,
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> Completion:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [m.to_dict() for m in messages],
            "temperature": options.temperature,
            "top_p": options.top_p,
            "max_tokens": options.max_tokens,
        }
        if options.seed is not None:
            kwargs["seed"] = options.seed
        if options.stop:
            kwargs["stop"] = list(options.stop)
        if tools:
            kwargs["tools"] = list(tools)
        openai = self._openai
        where = self._where()
        try:
            if on_text is None:
                return self._plain(kwargs, messages)
            return self._streamed(kwargs, messages, on_text)
        except openai.APITimeoutError:
            raise ModelUnavailableError(
                f"{where} did not answer within {self.timeout:g} s ({self.max_retries} retries)"
            ) from None
        except openai.APIConnectionError as exc:
            raise ModelUnavailableError(f"cannot reach {where} ({_cause(exc)})") from None
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise ModelUnavailableError(
                f"{where} refused the API key for {self.name} ({exc.status_code}): {_short(exc)}"
            ) from None
        except openai.NotFoundError as exc:
            raise ModelNotFoundError(f"{where} does not know model {self.model!r} (404): {_short(exc)}") from None
        except openai.APIStatusError as exc:
            if exc.status_code == 429 or exc.status_code >= 500:
                raise ModelUnavailableError(
                    f"{where} answered {exc.status_code} after {self.max_retries} retries: {_short(exc)}"
                ) from None
            raise ModelCallError(f"{where} answered {exc.status_code}: {_short(exc)}") from None
        except openai.APIError as exc:  # an error event inside a stream, a malformed response
            raise ModelCallError(f"{where} failed: {_short(exc)}") from None

    def _usage(self, usage: Any, messages: Sequence[Message], text: str) -> Usage:
        if usage is None:  # server sent no usage: estimate, so budgets still work
            prompt = sum(self.count_tokens(m.content) for m in messages)
            return Usage(prompt, self.count_tokens(text), prompt, 1)
        details = getattr(usage, "prompt_tokens_details", None)
        cached = (getattr(details, "cached_tokens", None) or 0) if details is not None else 0
        prompt = usage.prompt_tokens or 0
        return Usage(prompt, usage.completion_tokens or 0, max(0, prompt - cached), 1)

    def _plain(self, kwargs: dict[str, Any], messages: Sequence[Message]) -> Completion:
        response = self._client.chat.completions.create(**kwargs)
        if not getattr(response, "choices", None):
            raise ModelCallError(f"{self._where()} sent no choices for {self.name} (is it OpenAI-compatible?)")
        choice = response.choices[0]
        text = choice.message.content or ""
        calls = tuple(
            ToolCall(c.id or f"call_{i}", c.function.name, c.function.arguments or "{}")
            for i, c in enumerate(choice.message.tool_calls or ())
            if getattr(c, "function", None) is not None
        )
        usage = self._usage(response.usage, messages, text)
        return Completion(text, _finish(choice.finish_reason), usage, self.name, calls)

    def _open_stream(self, kwargs: dict[str, Any]) -> Any:
        create = self._client.chat.completions.create
        if not self.stream_usage:
            return create(**kwargs, stream=True)
        try:
            return create(**kwargs, stream=True, stream_options={"include_usage": True})
        except (self._openai.BadRequestError, self._openai.UnprocessableEntityError) as exc:
            if "stream_options" not in f"{exc} {exc.body}":
                raise
        self.stream_usage = False  # an older server: ask without, and estimate the usage
        return create(**kwargs, stream=True)

    def _streamed(self, kwargs: dict[str, Any], messages: Sequence[Message], on_text: TextCallback) -> Completion:
        pieces: list[str] = []
        finish: str | None = None
        usage = None
        chunks = 0
        calls: dict[int, list[str]] = {}  # index -> [id, name, arguments so far]
        with self._open_stream(kwargs) as stream:
            for chunk in stream:
                chunks += 1
                if getattr(chunk, "usage", None) is not None:
                    usage = chunk.usage
                for choice in chunk.choices or ():
                    piece = choice.delta.content if choice.delta else None
                    if piece:
                        pieces.append(piece)
                        on_text(piece)
                    for delta in (choice.delta.tool_calls if choice.delta else None) or ():
                        slot = calls.setdefault(delta.index, ["", "", ""])
                        slot[0] = delta.id or slot[0]
                        if delta.function is not None:
                            slot[1] += delta.function.name or ""
                            slot[2] += delta.function.arguments or ""
                    if choice.finish_reason:
                        finish = choice.finish_reason
        if not chunks:
            raise ModelCallError(f"{self._where()} sent an empty stream for {self.name} (is it OpenAI-compatible?)")
        text = "".join(pieces)
        tool_calls = tuple(
            ToolCall(slot[0] or f"call_{i}", slot[1], slot[2] or "{}") for i, slot in sorted(calls.items())
        )
        return Completion(text, _finish(finish), self._usage(usage, messages, text), self.name, tool_calls)

    def _where(self) -> str:
        return f"the model server at {self.base_url}" if self.base_url else "the OpenAI API"


def _finish(reason: str | None) -> Any:
    return reason if reason in ("stop", "length", "tool_calls") else "stop"


def _short(exc: Exception) -> str:
    return " ".join(str(getattr(exc, "message", exc)).split())[:200]


def _cause(exc: BaseException) -> str:
    """The underlying network error's class, e.g. ``ConnectError``, for the one-line message."""
    cause = exc.__cause__ or exc.__context__
    return type(cause).__name__ if cause is not None else type(exc).__name__
