"""An OpenAI chat-completions request -> the :class:`~ponder.spec.RunSpec` of a run, or an :class:`ApiError`.

* ``model`` names a strategy over the server's model (``refine``), or a
  strategy over another backend (``consistency/openai:qwen``, on the server's
  ``--base-url``);
* ``messages``: the last message must be the user's question; the system
  prompt and earlier turns become the run's conversation history (never
  flattened into one string); for ``recursive`` they are the long input it
  reads (its context), not a prefix of its calls;
* ``temperature``, ``max_tokens`` / ``max_completion_tokens``, ``seed``,
  ``stop``, ``top_p`` map onto the run's generation options;
* ``ponder`` (the ``extra_body`` of the openai SDK) holds a partial run spec:
  a ``strategy`` tree, ``budget``, ``options``, ``memory``, and any strategy
  option by name (placed on the outermost strategy of the tree that declares
  it, like a ``ponder ask`` flag). What touches the server's machine
  (``store``, ``trace``, ``context``, ``models``, ``tools``, ``stop``) is the
  server's to set, not a request's;
* a field that would change the meaning of the answer and that ponder does not
  do (``n`` > 1, client-side ``tools``, ``logprobs``, ...) is a 400 that says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, PonderError, StrategyNotFoundError
from ..spec import RunSpec, StrategySpec
from ..strategies import entries
from .config import ServeConfig

#: request fields that are accepted and ignored (they do not change the answer)
_IGNORED = frozenset(
    {
        "user",
        "metadata",
        "store",
        "frequency_penalty",
        "presence_penalty",
        "logit_bias",
        "service_tier",
        "stream_options",
    }
)
_REFUSED = {
    "tools": "client-side tools are not supported (the server's tools are set with ponder serve --tools)",
    "functions": "client-side functions are not supported",
    "tool_choice": "client-side tools are not supported",
    "logprobs": "logprobs are not supported",
    "top_logprobs": "logprobs are not supported",
    "response_format": "response_format is not supported",
    "audio": "audio output is not supported",
    "modalities": "only text output is supported",
    "prediction": "predicted outputs are not supported",
}
_SPEC_KEYS = frozenset({"strategy", "budget", "options", "memory"})
_SERVER_KEYS = frozenset(
    {"store", "record", "trace", "context", "models", "tools", "stop", "max_concurrency", "prices"}
)


@dataclass
class ApiError(Exception):
    """An error answered in the OpenAI shape: ``{"error": {"message", "type", "param", "code"}}``."""

    status: int
    message: str
    param: str | None = None
    code: str | None = None
    type: str = "invalid_request_error"
    headers: dict[str, str] | None = None

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


@dataclass(frozen=True)
class ChatRequest:
    """What a request asks for: the run's spec (with its question and history), and how to answer."""

    spec: RunSpec
    model: str
    stream: bool
    include_usage: bool


def parse_model(name: str, config: ServeConfig) -> tuple[str, str]:
    """(strategy, backend spec) that a request's ``model`` names; 404 for a name that is not a strategy."""
    strategy, _, backend = name.partition("/")
    if strategy not in entries():
        known = ", ".join(entries())
        raise ApiError(404, f"The model {name!r} does not exist: use a strategy ({known}), or STRATEGY/MODEL",
                       "model", "model_not_found")  # fmt: skip
    return strategy, backend or config.model


def chat_request(body: Any, config: ServeConfig) -> ChatRequest:
    """The request ``body`` as a run (see the module docs); :class:`ApiError` for what a client must fix."""
    if not isinstance(body, Mapping):
        raise ApiError(400, "the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise ApiError(400, "model is required: a strategy name such as refine, or STRATEGY/MODEL", "model")
    for key, why in _REFUSED.items():
        if body.get(key) not in (None, [], {}, False):
            raise ApiError(400, why, key)
    if body.get("n") not in (None, 1):
        raise ApiError(400, "n > 1 is not supported: one run gives one answer (use the consistency strategy)", "n")
    strategy, backend = parse_model(model.strip(), config)
    question, history = _conversation(body.get("messages"))
    data = _base_spec(config, strategy, backend, question, history)
    _apply_options(data, body)
    _apply_ponder(data, body.get("ponder"), config)
    recursive_context(data)
    try:
        spec = RunSpec.from_dict(data)
    except StrategyNotFoundError as exc:
        raise ApiError(404, str(exc), "ponder", "model_not_found") from None
    except PonderError as exc:
        raise ApiError(400, str(exc), "ponder") from None
    options = body.get("stream_options") or {}
    return ChatRequest(
        spec, model, bool(body.get("stream")), bool(isinstance(options, Mapping) and options.get("include_usage"))
    )


def _conversation(messages: Any) -> tuple[str, list[dict[str, str]]]:
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages must be a non-empty list", "messages")
    turns: list[dict[str, str]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping) or message.get("role") not in ("system", "developer", "user", "assistant"):
            raise ApiError(400, f"messages[{i}] needs a role: system, developer, user or assistant", f"messages[{i}]")
        role = "system" if message["role"] == "developer" else str(message["role"])
        turns.append({"role": role, "content": _text(message.get("content"), i)})
    if turns[-1]["role"] != "user" or not turns[-1]["content"].strip():
        raise ApiError(400, "the last message must be the user's question (non-empty)", "messages")
    return turns[-1]["content"], turns[:-1]


def _text(content: Any, i: int) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: only text parts
        parts = []
        for part in content:
            if not isinstance(part, Mapping) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                raise ApiError(400, f"messages[{i}]: only text content parts are supported", f"messages[{i}]")
            parts.append(part["text"])
        return "".join(parts)
    if content is None:
        return ""
    raise ApiError(400, f"messages[{i}].content must be text", f"messages[{i}]")


def _base_spec(
    config: ServeConfig, strategy: str, backend: str, question: str, history: list[dict[str, str]]
) -> dict[str, Any]:
    data = RunSpec().to_dict()
    data["question"] = question
    data["history"] = history
    data["strategy"] = {"strategy": strategy}
    data["models"] = {"root": {"model": backend, "base_url": config.base_url}}
    data["tools"] = list(config.tools) if StrategySpec.parse(strategy).takes_tools() else []
    data["store"] = config.store
    data["record"] = config.record
    data["budget"]["max_seconds"] = config.max_seconds
    if config.prices is not None:
        data["prices"] = config.prices.to_dict()
    return data


def _apply_options(data: dict[str, Any], body: Mapping[str, Any]) -> None:
    options = data["options"]
    for field in ("temperature", "seed", "top_p"):
        if body.get(field) is not None:
            options[field] = body[field]
    tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if tokens is not None:
        options["max_tokens"] = tokens
    stop = body.get("stop")
    if stop is not None:
        options["stop"] = [stop] if isinstance(stop, str) else list(stop)
    unknown = sorted(set(body) - _IGNORED - set(_REFUSED) - {"model", "messages", "stream", "n", "ponder"}
                     - {"temperature", "seed", "top_p", "max_tokens", "max_completion_tokens", "stop"})  # fmt: skip
    if unknown:
        raise ApiError(400, f"unsupported field {unknown[0]!r}", unknown[0])


def _apply_ponder(data: dict[str, Any], extra: Any, config: ServeConfig) -> None:
    if extra is None:
        return
    if not isinstance(extra, Mapping):
        raise ApiError(400, "ponder must be an object (a partial run spec)", "ponder")
    for key in sorted(set(extra) & _SERVER_KEYS):
        raise ApiError(400, f"ponder.{key} is set by the server (ponder serve), not by a request", f"ponder.{key}")
    if "strategy" in extra:
        data["strategy"] = extra["strategy"]
    for key in ("options", "budget"):
        if isinstance(extra.get(key), Mapping):
            data[key] = {**data[key], **extra[key]}
        elif key in extra:
            raise ApiError(400, f"ponder.{key} must be an object", f"ponder.{key}")
    if "memory" in extra:
        data["memory"] = extra["memory"]
    limit, asked = config.max_seconds, data["budget"].get("max_seconds")
    if limit is not None and (asked is None or (isinstance(asked, int | float) and asked > limit)):
        data["budget"]["max_seconds"] = limit  # a request may ask for less time than the server allows, not more
    try:
        tree = StrategySpec.parse(data["strategy"])
        for key, value in extra.items():
            if key in _SPEC_KEYS:
                continue
            placed = tree.place(key, value)
            if placed is None:
                raise ApiError(400, f"ponder.{key} does not apply to {' + '.join(tree.names())}", f"ponder.{key}")
            tree = placed
    except StrategyNotFoundError as exc:
        raise ApiError(404, str(exc), "ponder.strategy", "model_not_found") from None
    except ConfigError as exc:
        raise ApiError(400, str(exc), "ponder") from None
    data["strategy"] = tree.to_dict()
    if tree.takes_tools() and not data["tools"]:
        data["tools"] = list(config.tools)


def recursive_context(data: dict[str, Any]) -> None:
    """A recursive run reads its long input from the conversation: the earlier messages are its context
    (kept in the sandbox, read in slices), not a prefix of every call."""
    if data["strategy"].get("strategy") != "recursive":
        return
    text = "\n\n".join(m["content"] for m in data["history"] if m["content"].strip())
    if not text:
        raise ApiError(400, "recursive reads a long input: send it as an earlier message (system or user)", "messages")
    data["context_text"], data["history"] = text, []
