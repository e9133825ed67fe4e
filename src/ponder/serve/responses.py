"""A Responses API request (``POST /v1/responses``) -> the same run a chat completion would start.

The request is rewritten as a chat-completions body and built by
:func:`~ponder.serve.translate.chat_request`, so both routes share one
client-spec builder and one operator policy (what a client may set, which
strategies, files and models it may name):

* ``input``: a string (the question), or a list of items: messages (``role``
  user, assistant, system or developer; ``content`` a string or
  ``input_text`` / ``output_text`` parts). ``reasoning`` items (the steps of an
  earlier response sent back by a client that keeps its own state) are skipped:
  they are the strategy's work, not the conversation. The last message must be
  the user's question;
* ``instructions``: a system message in front of everything;
* ``previous_response_id``: the conversation of that stored response (its
  input and its answer) goes in front of ``input``. As in the OpenAI API, its
  ``instructions`` are not carried over; neither are its system messages (send
  them again). With ``ponder serve --no-store`` nothing is stored: a 400;
* ``temperature``, ``top_p``, ``max_output_tokens`` (each call's limit, like
  chat's ``max_tokens``) and the ``ponder`` object (``extra_body``) as for chat;
* what ponder does not do is a 400 that says so (client-side ``tools``,
  ``background``, a structured ``text.format``, ``conversation``, ``prompt``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .config import ServeConfig
from .translate import ApiError, ChatRequest, chat_request

#: a response's id is its run's id with this prefix (so previous_response_id finds the stored run)
RESPONSE_PREFIX = "resp_"
#: the most input items a request may hold (a conversation, not a data set)
MAX_ITEMS = 1000

_IGNORED = frozenset(
    {"metadata", "store", "user", "service_tier", "include", "truncation", "parallel_tool_calls",
     "prompt_cache_key", "safety_identifier", "stream_options", "reasoning", "prompt_cache_retention"}
)  # fmt: skip
_REFUSED = {
    "tools": "client-side tools are not supported (the server's tools are set with ponder serve --tools)",
    "background": "background responses are not supported (stream instead)",
    "conversation": "conversations are not supported: use previous_response_id",
    "prompt": "prompt templates are not supported: send input and instructions",
    "top_logprobs": "logprobs are not supported",
    "max_tool_calls": "client-side tools are not supported",
}
_OWN = frozenset(
    {"model", "input", "instructions", "previous_response_id", "stream", "temperature", "top_p",
     "max_output_tokens", "text", "tool_choice", "ponder"}
)  # fmt: skip


@dataclass(frozen=True)
class ResponsesRequest:
    """A Responses request as a run (``chat``) and what its response object echoes back."""

    chat: ChatRequest
    instructions: str | None
    previous_response_id: str | None
    echo: dict[str, Any]


def previous_run_id(body: Any) -> str | None:
    """The run id behind the body's ``previous_response_id`` (None when there is none); 400 when it is malformed."""
    if not isinstance(body, Mapping) or body.get("previous_response_id") is None:
        return None
    given = body["previous_response_id"]
    run_id = given[len(RESPONSE_PREFIX) :] if isinstance(given, str) and given.startswith(RESPONSE_PREFIX) else ""
    if not (0 < len(run_id) <= 64 and run_id.isascii() and run_id.isalnum()):
        raise ApiError(400, f"previous_response_id {str(given)[:80]!r} is not a response id of this server",
                       "previous_response_id", "previous_response_not_found")  # fmt: skip
    return run_id


def conversation_of(spec: Mapping[str, Any], answer: str | None) -> list[dict[str, str]]:
    """The conversation a stored run (its spec's plain data) continues: its user and assistant turns, its
    question and its answer. A recursive run's long input (its context text) is the user turn it came in."""
    turns: list[dict[str, str]] = []
    for message in spec.get("history") or []:
        if isinstance(message, Mapping) and message.get("role") in ("user", "assistant"):
            turns.append({"role": str(message["role"]), "content": str(message.get("content") or "")})
    if isinstance(spec.get("context_text"), str):
        turns.append({"role": "user", "content": spec["context_text"]})
    turns.append({"role": "user", "content": str(spec.get("question") or "")})
    turns.append({"role": "assistant", "content": answer or ""})
    return turns


def responses_request(body: Any, config: ServeConfig, previous: list[dict[str, str]] | None = None) -> ResponsesRequest:
    """The request ``body`` as a run; ``previous``: the conversation of its ``previous_response_id``."""
    if not isinstance(body, Mapping):
        raise ApiError(400, "the request body must be a JSON object")
    for key, why in _REFUSED.items():
        if body.get(key) not in (None, [], {}, False):
            raise ApiError(400, why, key)
    unknown = sorted(set(body) - _IGNORED - set(_REFUSED) - _OWN)
    if unknown:
        raise ApiError(400, f"unsupported field {unknown[0]!r}", unknown[0])
    if body.get("tool_choice") not in (None, "none", "auto"):
        raise ApiError(400, "client-side tools are not supported", "tool_choice")
    _check_text(body.get("text"))
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise ApiError(400, "instructions must be a string", "instructions")
    messages: list[dict[str, str]] = []
    if instructions:
        messages.append({"role": "system", "content": instructions})
    messages += previous or []
    messages += _input(body.get("input"))
    chat_body: dict[str, Any] = {"model": body.get("model"), "messages": messages, "stream": bool(body.get("stream"))}
    for ours, theirs in (("temperature", "temperature"), ("top_p", "top_p"), ("max_output_tokens", "max_tokens")):
        if body.get(ours) is not None:
            chat_body[theirs] = body[ours]
    if body.get("ponder") is not None:
        chat_body["ponder"] = body["ponder"]
    try:
        chat = chat_request(chat_body, config)
    except ApiError as error:
        raise _renamed(error) from None
    echo: dict[str, Any] = {
        "temperature": body.get("temperature"),
        "top_p": body.get("top_p"),
        "max_output_tokens": body.get("max_output_tokens"),
        "metadata": body.get("metadata") if isinstance(body.get("metadata"), Mapping) else {},
        "store": config.record,
    }
    previous_id = body.get("previous_response_id")
    return ResponsesRequest(chat, instructions, previous_id if isinstance(previous_id, str) else None, echo)


def _input(given: Any) -> list[dict[str, str]]:
    if isinstance(given, str):
        if not given.strip():
            raise ApiError(400, "input is empty: give the question", "input")
        return [{"role": "user", "content": given}]
    if not isinstance(given, list) or not given:
        raise ApiError(400, "input must be a string or a non-empty list of input items", "input")
    if len(given) > MAX_ITEMS:
        raise ApiError(400, f"input holds {len(given)} items; at most {MAX_ITEMS}", "input")
    out = []
    for i, item in enumerate(given):
        where = f"input[{i}]"
        if not isinstance(item, Mapping):
            raise ApiError(400, f"{where} must be an object (an input item)", where)
        kind = item.get("type", "message")
        if kind == "reasoning":
            continue  # a strategy's steps sent back: its work, not the conversation
        if kind != "message":
            raise ApiError(400, f"{where}: only message items are supported, not {str(kind)[:40]!r}", where)
        role = item.get("role")
        if role not in ("user", "assistant", "system", "developer"):
            raise ApiError(400, f"{where} needs a role: user, assistant, system or developer", where)
        out.append({"role": "system" if role == "developer" else role, "content": _content(item.get("content"), where)})
    return out


def _content(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise ApiError(400, f"{where}.content must be a string or a list of text parts", where)
    parts = []
    for part in content:
        if (
            not isinstance(part, Mapping)
            or part.get("type") not in ("input_text", "output_text", "text")
            or not isinstance(part.get("text"), str)
        ):
            raise ApiError(400, f"{where}: only text content parts are supported (input_text, output_text)", where)
        parts.append(part["text"])
    return "".join(parts)


def _check_text(text: Any) -> None:
    if text is None:
        return
    fmt = text.get("format") if isinstance(text, Mapping) else None
    if not isinstance(text, Mapping) or (
        fmt is not None and (not isinstance(fmt, Mapping) or fmt.get("type") != "text")
    ):
        raise ApiError(400, "only text output is supported (text.format type text)", "text.format")


def _renamed(error: ApiError) -> ApiError:
    """A chat route's error about ``messages`` or ``max_tokens``, named as this API names the field."""
    param = error.param
    if param is not None and param.startswith("messages"):
        param = "input"
    elif param == "max_tokens":
        param = "max_output_tokens"
    message = error.message.replace("the last message must be", "the last input item must be")
    return ApiError(error.status, message, param, error.code, error.type, error.headers)
