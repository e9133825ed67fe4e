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
reports what the call cost (``usage.cost``, in US dollars: OpenRouter, LiteLLM
proxies) is charged that (:mod:`ponder.engine.prices`). A server that
rejects ``stream_options`` altogether (a 400/422 naming it) is asked again
without it, and is not sent it again.

Server kinds (``server_kind``: ``llamacpp``, ``vllm``, ``ollama``, ``openai``,
``auto``; see :mod:`ponder.models.servers`): a call's GBNF grammar is sent in
the form the server takes (:mod:`ponder.models.request_fields`), ``tool_choice``
goes to servers that take it, and any such optional field a server rejects
(400/422 naming it) is dropped for that server, logged once, and the call
retried without it. Before a call, the prompt is checked against the window
(the server's ``n_ctx``/``max_model_len`` where it reports one, else
``context_window``): an estimate, and near the window the server's own
tokenizer where it has one; a prompt that does not fit raises
:class:`~ponder.errors.PromptTooLong` without calling the server.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

from ..engine.prices import reported_cost
from ..errors import ModelCallError, ModelNotFoundError, ModelUnavailableError, PromptTooLong
from ..types import Completion, GenerationOptions, Message, ToolCall, Usage
from .base import TextCallback
from .request_fields import Extra, extra_fields, rejected_field
from .servers import ServerInfo, note_tool_reply, remember_rejection, root_url, server_info

DEFAULT_CONTEXT_WINDOW = 8192
#: tokens a chat template adds per message (role markers), for the estimate
MESSAGE_OVERHEAD = 4
#: an estimate above this share of the window is checked with the server's tokenizer
EXACT_COUNT_FROM = 0.5
_OVERLONG = re.compile(
    r"maximum context length|context length is|exceeds? (the )?(available )?context|context window|"
    r"too many tokens|prompt is too long",
    re.IGNORECASE,
)


class OpenAIModel:
    """A chat model behind an OpenAI-compatible HTTP API.

    ``server_kind`` says what the server supports (``auto``: probed on first use, cached
    per base URL); ``context_window`` is used where the server reports no window of its own
    (None: the reported one, else 8192); ``supports_tools=False`` never sends tools.
    """

    supports_concurrency = True
    #: a server may say what a call cost (``usage.cost``); a dollar limit then needs no price for it
    reports_cost = True
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
        context_window: int | None = None,
        supports_tools: bool = True,
        server_kind: str = "auto",
    ) -> None:
        try:
            import openai
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise ModelUnavailableError("the 'openai' package is not installed") from exc
        if not model:
            raise ModelNotFoundError("openai:MODEL needs a model name, e.g. openai:gpt-4o-mini")
        from .servers import SERVER_KINDS

        if server_kind not in SERVER_KINDS:
            from ..errors import ConfigError

            raise ConfigError(f"unknown server kind {server_kind!r} (use {', '.join(SERVER_KINDS)})")
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
        self.server_kind = server_kind
        self.configured_window = context_window
        self._tools = supports_tools
        self.timeout = timeout
        self.max_retries = max_retries
        self._info: ServerInfo | None = None
        self._openai = openai
        self._client = openai.OpenAI(base_url=self.base_url, api_key=key, timeout=timeout, max_retries=max_retries)

    def close(self) -> None:
        """Close the HTTP client's connections (a server's model cache drops models it no longer keeps)."""
        self._client.close()

    # -- capabilities (from the server kind; ``auto`` probes once) ------------------

    @property
    def info(self) -> ServerInfo:
        """What the server supports (see :mod:`ponder.models.servers`)."""
        if self._info is None or not self._info.reached:  # a server that was down is probed again
            self._info = server_info(self.base_url, self.server_kind, self.model)
        return self._info

    @property
    def context_window(self) -> int:
        """The configured window, else the one the server reports, else 8192."""
        return self.configured_window or self.info.context_window or DEFAULT_CONTEXT_WINDOW

    @property
    def supports_tools(self) -> bool:
        return self._tools

    @property
    def supports_grammar(self) -> bool:
        """Whether a call's grammar constrains the reply on this server (in whichever form it takes)."""
        return self.info.constraint != "none"

    @property
    def preferred_tool_protocol(self) -> str:
        """``native`` where the server's tool calls are trusted, else ``text`` (react's ``--tool-protocol auto``)."""
        return "native" if self._tools and self.info.native_tools else "text"

    @property
    def stream_usage(self) -> bool:
        """Whether streamed calls ask for usage (off once the server rejected ``stream_options``)."""
        return "stream_options" not in self.info.rejected

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
        info = self.info
        self.check_window(messages, options)
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [m.to_dict() for m in messages],
            "temperature": options.temperature,
            "top_p": options.top_p,
            "max_tokens": options.max_tokens,
        }
        if options.seed is not None:
            kwargs["seed"] = options.seed
        if tools:
            kwargs["tools"] = list(tools)
        extra = extra_fields(info, options.grammar, options.tool_choice, bool(tools))
        if options.stop and extra.decode is None:
            kwargs["stop"] = list(options.stop)
        openai = self._openai
        where = self._where()
        try:
            if extra.decode is not None:  # a JSON reply: decoded whole, then shown
                completion = self._plain(kwargs, extra, messages)
                if on_text is not None and completion.text:
                    on_text(completion.text)
            elif on_text is None:
                completion = self._plain(kwargs, extra, messages)
            else:
                completion = self._streamed(kwargs, extra, messages, on_text)
            if tools and options.tool_choice == "required":
                note_tool_reply(info, bool(completion.tool_calls), where)
            return completion
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
            if _OVERLONG.search(_short(exc)):
                raise self._too_long(_short(exc), messages) from None
            raise ModelCallError(f"{where} answered {exc.status_code}: {_short(exc)}") from None
        except openai.APIError as exc:  # an error event inside a stream, a malformed response
            raise ModelCallError(f"{where} failed: {_short(exc)}") from None

    # -- the window -------------------------------------------------------------------

    def check_window(self, messages: Sequence[Message], options: GenerationOptions) -> int:
        """The prompt's tokens, counted before the call; PromptTooLong when they leave no room in the window.

        An estimate first; when it comes near the window, the server's own tokenizer (where it has one).
        """
        window = self.context_window
        tokens = self._estimate(messages)
        if tokens >= window * EXACT_COUNT_FROM:
            exact = self.server_tokens(messages)
            if exact is not None:
                tokens = exact
        if tokens >= window:
            raise PromptTooLong(self.name, tokens, window)
        return tokens

    def _too_long(self, message: str, messages: Sequence[Message]) -> PromptTooLong:
        """The server refused an overlong prompt: the window it named is remembered (so the next
        overlong prompt is caught before the call), and the counts go into the error."""
        window = _number(_WINDOW_IN, message)
        if window is not None and self.configured_window is None:
            self.info.context_window = window
        tokens = _number(_TOKENS_IN, message) or self._estimate(messages)
        return PromptTooLong(self.name, tokens, window or self.context_window)

    def _estimate(self, messages: Sequence[Message]) -> int:
        return sum(self.count_tokens(m.content) + MESSAGE_OVERHEAD for m in messages)

    def server_tokens(self, messages: Sequence[Message]) -> int | None:
        """The prompt's tokens by the server's tokenizer, or None where it has none (or it failed)."""
        flavour = self.info.tokenizer
        if flavour is None or self.base_url is None:
            return None
        from .servers import _post_json

        root = root_url(self.base_url)
        text = "\n".join(m.content for m in messages)
        if flavour == "vllm":
            body = {"model": self.model, "messages": [m.to_dict() for m in messages]}
            found = _post_json(None, f"{root}/tokenize", body)
            count = found.get("count") if isinstance(found, dict) else None
            return int(count) if isinstance(count, int) else None
        if flavour == "llama-cpp-python":
            found = _post_json(None, f"{root}/extras/tokenize/count", {"input": text})
            count = found.get("count") if isinstance(found, dict) else None
            return int(count) + MESSAGE_OVERHEAD * len(messages) if isinstance(count, int) else None
        found = _post_json(None, f"{root}/tokenize", {"content": text})
        tokens = found.get("tokens") if isinstance(found, dict) else None
        return len(tokens) + MESSAGE_OVERHEAD * len(messages) if isinstance(tokens, list) else None

    # -- one request, retried without a field the server rejected ---------------------

    def _create(self, kwargs: dict[str, Any], extra: Extra, *, stream: bool = False) -> Any:
        """POST one chat completion (a stream when ``stream``), dropping any optional field the server rejects.

        The body is sent through the SDK's ``post`` (its retries, errors and SSE parsing) as the plain
        JSON it already is: ``chat.completions.create`` would first walk every message through the
        SDK's type-driven transform, which costs about 0.5 ms per message (the text protocol's
        few-shot prompt has 14) and changes nothing in a body built from plain dicts.
        """
        from openai import Stream
        from openai.types.chat import ChatCompletion, ChatCompletionChunk

        body = {**kwargs, **extra.fields}
        if stream:
            body["stream"] = True
            if self.stream_usage:
                body["stream_options"] = {"include_usage": True}
        openai = self._openai
        while True:
            try:
                return self._client.post(
                    "/chat/completions",
                    body=body,
                    cast_to=ChatCompletion,
                    stream=stream,
                    stream_cls=Stream[ChatCompletionChunk],
                )
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                name = rejected_field(f"{exc} {exc.body}", set(body) - set(kwargs) - {"stream"})
                if name is None:
                    raise
            remember_rejection(self.info, name, self._where())
            body.pop(name, None)

    def _usage(self, usage: Any, messages: Sequence[Message], text: str) -> Usage:
        if usage is None:  # server sent no usage: estimate, so budgets still work
            prompt = sum(self.count_tokens(m.content) for m in messages)
            return Usage(prompt, self.count_tokens(text), prompt, 1)
        details = getattr(usage, "prompt_tokens_details", None)
        cached = (getattr(details, "cached_tokens", None) or 0) if details is not None else 0
        prompt = usage.prompt_tokens or 0
        cost = reported_cost(getattr(usage, "cost", None))  # what the call cost, where the server says
        return Usage(prompt, usage.completion_tokens or 0, max(0, prompt - cached), 1, cost=cost)

    def _plain(self, kwargs: dict[str, Any], extra: Extra, messages: Sequence[Message]) -> Completion:
        response = self._create(kwargs, extra)
        if not getattr(response, "choices", None):
            raise ModelCallError(f"{self._where()} sent no choices for {self.name} (is it OpenAI-compatible?)")
        choice = response.choices[0]
        text = choice.message.content or ""
        if extra.decode is not None:
            text = extra.decode.decode(text)
        calls = tuple(
            ToolCall(c.id or f"call_{i}", c.function.name, c.function.arguments or "{}")
            for i, c in enumerate(choice.message.tool_calls or ())
            if getattr(c, "function", None) is not None
        )
        usage = self._usage(response.usage, messages, text)
        return Completion(text, _finish(choice.finish_reason), usage, self.name, calls)

    def _streamed(
        self, kwargs: dict[str, Any], extra: Extra, messages: Sequence[Message], on_text: TextCallback
    ) -> Completion:
        pieces: list[str] = []
        finish: str | None = None
        usage = None
        chunks = 0
        calls: dict[int, list[str]] = {}  # index -> [id, name, arguments so far]
        with self._create(kwargs, extra, stream=True) as stream:
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


#: the window and the prompt's tokens in servers' overlong-prompt errors (vLLM, llama.cpp, llama-cpp-python)
_WINDOW_IN = re.compile(
    r"(?:maximum context length is|context window of|context size \(|n_ctx[ =:]+)\s*(\d+)", re.IGNORECASE
)
_TOKENS_IN = re.compile(r"(\d+) in the messages|requested tokens \((\d+)\)|requested (\d+) tokens", re.IGNORECASE)


def _number(pattern: re.Pattern[str], text: str) -> int | None:
    found = pattern.search(text)
    digits = next((g for g in found.groups() if g), None) if found else None
    return int(digits) if digits else None


def _finish(reason: str | None) -> Any:
    return reason if reason in ("stop", "length", "tool_calls") else "stop"


def _short(exc: Exception) -> str:
    return " ".join(str(getattr(exc, "message", exc)).split())[:200]


def _cause(exc: BaseException) -> str:
    """The underlying network error's class, e.g. ``ConnectError``, for the one-line message."""
    cause = exc.__cause__ or exc.__context__
    return type(cause).__name__ if cause is not None else type(exc).__name__
