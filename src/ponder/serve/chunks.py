"""The OpenAI shapes of a run: a chat completion, its streamed chunks, and honest usage.

Usage sums every internal call of the run: ``prompt_tokens`` and
``completion_tokens`` over all model calls, ``completion_tokens_details.
reasoning_tokens`` for all but the final answer, ``cost`` (US dollars, when the
models have prices or their servers report costs), and a ``ponder`` object with
the calls, the prompt tokens really evaluated (KV prefix reuse), the stop
reason and the run id (``GET /v1/runs/{run_id}`` is the full trace).
"""

from __future__ import annotations

import time
from typing import Any

from ..result import RunResult

#: stop reasons that ended a run normally; the others mean the answer was cut short
_FINISHED = frozenset({"answered", "converged"})


def finish_reason(result: RunResult) -> str:
    return "stop" if result.stop_reason in _FINISHED else "length"


def usage(result: RunResult, answer_tokens: int) -> dict[str, Any]:
    """The usage of a run; ``answer_tokens``: the final answer's tokens (not reasoning)."""
    used = result.usage
    reasoning = max(0, used.completion_tokens - answer_tokens)
    out: dict[str, Any] = {
        "prompt_tokens": used.prompt_tokens,
        "completion_tokens": used.completion_tokens,
        "total_tokens": used.total_tokens,
        "completion_tokens_details": {"reasoning_tokens": reasoning},
        "prompt_tokens_details": {"cached_tokens": max(0, used.prompt_tokens - used.prompt_tokens_evaluated)},
    }
    if used.cost is not None:  # US dollars, where known (as OpenRouter reports usage.cost)
        out["cost"] = round(used.cost, 12)
    return out


def ponder_info(result: RunResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "stop_reason": result.stop_reason,
        "detail": result.detail,
        "model_calls": result.usage.model_calls,
        "prompt_tokens_evaluated": result.usage.prompt_tokens_evaluated,
        "models": {name: u.to_dict() for name, u in result.usage_by_model.items()},
    }


def completion(cid: str, model: str, result: RunResult, reasoning: str, answer_tokens: int) -> dict[str, Any]:
    """A non-streamed chat completion of ``result``."""
    message: dict[str, Any] = {"role": "assistant", "content": result.answer or ""}
    if reasoning:
        message["reasoning_content"] = message["reasoning"] = reasoning
    return {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(result), "logprobs": None}],
        "usage": usage(result, answer_tokens),
        "ponder": ponder_info(result),
    }


def chunk(cid: str, model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    """One streamed chunk with ``delta``."""
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


def reasoning_delta(text: str) -> dict[str, Any]:
    """Reasoning text, under both names clients read (``reasoning_content``: DeepSeek-style; ``reasoning``)."""
    return {"reasoning_content": text, "reasoning": text}


def usage_chunk(cid: str, model: str, result: RunResult, answer_tokens: int) -> dict[str, Any]:
    """The last chunk of a stream with ``stream_options.include_usage``: no choices, the usage."""
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [],
        "usage": usage(result, answer_tokens),
        "ponder": ponder_info(result),
    }
