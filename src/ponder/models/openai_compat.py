"""Any OpenAI-compatible server (vLLM, Ollama, llama.cpp's server, OpenAI).

Uses the official ``openai`` SDK, whose client retries transient failures
(connection errors, 408, 409, 429 and 5xx) with exponential backoff and
jitter; ``max_retries`` and ``timeout`` are configurable. Errors that a person
must fix become one-line :mod:`ponder.errors` exceptions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..errors import ModelCallError, ModelNotFoundError, ModelUnavailableError
from ..types import Completion, GenerationOptions, Message, Usage
from .base import TextCallback

DEFAULT_CONTEXT_WINDOW = 8192


class OpenAIModel:
    """A chat model behind an OpenAI-compatible HTTP API."""

    supports_concurrency = True

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
        self.context_window = context_window
        self.supports_tools = supports_tools
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
        try:
            if on_text is None:
                return self._plain(kwargs, messages)
            return self._streamed(kwargs, messages, on_text)
        except self._openai.APIConnectionError as exc:
            where = self.base_url or "the OpenAI API"
            raise ModelUnavailableError(
                f"cannot reach the model server at {where} ({exc.__class__.__name__})"
            ) from None
        except self._openai.AuthenticationError:
            raise ModelUnavailableError(f"the server rejected the API key for {self.name}") from None
        except self._openai.NotFoundError as exc:
            raise ModelNotFoundError(f"the server does not know model {self.model!r}: {_short(exc)}") from None
        except self._openai.APIStatusError as exc:
            raise ModelCallError(f"the server answered {exc.status_code}: {_short(exc)}") from None

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
        if not response.choices:
            raise ModelCallError(f"{self.name} returned no choices")
        choice = response.choices[0]
        text = choice.message.content or ""
        return Completion(text, _finish(choice.finish_reason), self._usage(response.usage, messages, text), self.name)

    def _streamed(self, kwargs: dict[str, Any], messages: Sequence[Message], on_text: TextCallback) -> Completion:
        stream = self._client.chat.completions.create(**kwargs, stream=True, stream_options={"include_usage": True})
        pieces: list[str] = []
        finish: str | None = None
        usage = None
        for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                piece = choice.delta.content if choice.delta else None
                if piece:
                    pieces.append(piece)
                    on_text(piece)
                if choice.finish_reason:
                    finish = choice.finish_reason
        text = "".join(pieces)
        return Completion(text, _finish(finish), self._usage(usage, messages, text), self.name)


def _finish(reason: str | None) -> Any:
    return reason if reason in ("stop", "length", "tool_calls") else "stop"


def _short(exc: Exception) -> str:
    return " ".join(str(getattr(exc, "message", exc)).split())[:200]
