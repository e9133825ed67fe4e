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
  it, like a ``ponder ask`` flag). Only what is declared client-safe is taken,
  at every depth of the tree (:func:`ponder.spec.client.client_spec`); what
  touches the server's machine (files, models, tools, code, the store) is the
  operator's, and a refused field is a 400 that names it;
* a field that would change the meaning of the answer and that ponder does not
  do (``n`` > 1, client-side ``tools``, ``logprobs``, ...) is a 400 that says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import PonderError, StrategyNotFoundError
from ..spec import RunSpec
from ..spec.client import ClientSpecError, client_spec
from ..spec.node import has_capability
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
    """(strategy, backend spec) that a request's ``model`` names; 404 for a name that is not a strategy,
    400 for a backend the operator did not list (``--allow-model``): the same answer whether or not it exists."""
    strategy, _, backend = name.partition("/")
    if strategy not in entries():
        known = ", ".join(entries())
        raise ApiError(404, f"The model {name!r} does not exist: use a strategy ({known}), or STRATEGY/MODEL",
                       "model", "model_not_found")  # fmt: skip
    backend = backend.strip() or config.model
    if not config.policy().allows_model(backend):
        raise ApiError(400, f"the model {backend!r} is not served here (the operator lists the models: --allow-model)",
                       "model", "model_not_allowed")  # fmt: skip
    return strategy, backend


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
    stream = body.get("stream", False)
    if not isinstance(stream, bool | None):
        raise ApiError(400, f"stream must be true or false, got {stream!r}", "stream")
    strategy, backend = parse_model(model.strip(), config)
    question, history = _conversation(body.get("messages"))
    partial: dict[str, Any] = {"strategy": strategy, "question": question, "history": history}
    if backend != config.model:
        partial["models"] = {"root": backend}
    partial["options"] = _options(body)
    _apply_ponder(partial, body.get("ponder"))
    recursive_context(partial)
    try:
        spec = client_spec(partial, config.policy())
    except StrategyNotFoundError as exc:
        raise ApiError(404, str(exc), "ponder.strategy", "model_not_found") from None
    except ClientSpecError as exc:
        raise ApiError(400, str(exc), _param(exc.field, body)) from None
    except PonderError as exc:
        raise ApiError(400, str(exc), "ponder") from None
    options = body.get("stream_options") or {}
    return ChatRequest(spec, model, bool(stream), bool(isinstance(options, Mapping) and options.get("include_usage")))


#: the fields of a client's spec that came from the request itself, not from ``ponder``
_FROM_BODY = {"question": "messages", "history": "messages", "context_text": "messages", "models": "model",
              "models.root": "model"}  # fmt: skip


def _param(field: str, body: Mapping[str, Any]) -> str:
    """The request field a refused spec field came from: ``ponder.X``, or the request's own (``model``)."""
    given = body.get("ponder")
    extra: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    top, _, rest = field.partition(".")
    if top == "options" and rest not in extra.get("options", {}) and rest in body:
        return rest
    if field in _FROM_BODY and top not in extra:
        return _FROM_BODY[field]
    return f"ponder.{field}" if field else "ponder"


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


def _options(body: Mapping[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for field in ("temperature", "seed", "top_p"):
        if body.get(field) is not None:
            options[field] = body[field]
    tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if tokens is not None:
        options["max_tokens"] = tokens
    stop = body.get("stop")
    if stop is not None:
        options["stop"] = [stop] if isinstance(stop, str) else stop
    unknown = sorted(set(body) - _IGNORED - set(_REFUSED) - {"model", "messages", "stream", "n", "ponder"}
                     - {"temperature", "seed", "top_p", "max_tokens", "max_completion_tokens", "stop"})  # fmt: skip
    if unknown:
        raise ApiError(400, f"unsupported field {unknown[0]!r}", unknown[0])
    return options


def _apply_ponder(partial: dict[str, Any], extra: Any) -> None:
    """The ``ponder`` object (a partial run spec) over what the request's own fields said; what it may
    hold is decided by :func:`~ponder.spec.client.client_spec`."""
    if extra is None:
        return
    if not isinstance(extra, Mapping):
        raise ApiError(400, "ponder must be an object (a partial run spec)", "ponder")
    for key in ("question", "history", "context_text"):
        if key in extra:
            raise ApiError(400, f"ponder.{key} comes from messages", f"ponder.{key}")
    for key, value in extra.items():
        if key == "options":
            if not isinstance(value, Mapping):
                raise ApiError(400, "ponder.options must be an object", "ponder.options")
            partial["options"] = {**partial["options"], **value}
        else:
            partial[str(key)] = value


def recursive_context(data: dict[str, Any]) -> None:
    """A recursive run reads its long input from the conversation: the earlier messages are its context
    (kept in the sandbox, read in slices), not a prefix of every call."""
    strategy = data.get("strategy")
    name = strategy.get("strategy") if isinstance(strategy, Mapping) else strategy
    if not has_capability(name, "reads_context"):
        return
    text = "\n\n".join(m["content"] for m in data["history"] if m["content"].strip())
    if not text:
        raise ApiError(400, f"{name} reads a long input: send it as an earlier message (system or user)", "messages")
    data["context_text"], data["history"] = text, []
