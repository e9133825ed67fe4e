"""The ``chat`` export: stored runs as the ``messages`` records fine-tuning trainers read as they are.

One JSON line per run, ``{"messages": [{"role": ..., "content": ...}, ...]}``: the shape of OpenAI's
chat fine-tuning files and of TRL's conversational datasets (``datasets.load_dataset("json", ...)``
gives a ``messages`` column). Two shapes, by what the run was:

* **trajectory** (``recursive`` code mode, ``react``): the root model's own multi-turn conversation,
  exactly as its last turn saw it: the system prompt, the task, each reply (its code, or its action)
  and what came back as the next user turn (the REPL's output, the tool's observation), then its last
  reply. A run that fell back to another mode (a ``fallback`` step) is not a trajectory of that model
  and takes the second shape, as does a react run on native tool calls (its last reply, a
  ``final_answer`` call, is recorded as text only).
* **question → reasoning → answer** (every other strategy): the conversation the question ended (a
  client's system prompt and earlier turns, when it had one), the question as the user turn, and one
  assistant turn ``<think>\\nREASONING\\n</think>\\n\\nANSWER``, the reasoning being the run's steps in
  order (``[draft] ...``, ``[critique] ...``, samples, votes, tool calls with their observations, child
  runs' steps), the steps that only repeat the answer at the end left out. With ``reasoning="none"``
  the assistant turn is the answer alone (and a run whose steps add nothing has no think block either).

A run with no answer is left out (there is nothing to learn from it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any, Literal

from .. import steps
from .export import finished_runs, trace, write_jsonl
from .sqlite import RunStore

Reasoning = Literal["think", "none"]
REASONING: tuple[Reasoning, ...] = ("think", "none")
#: the kinds of a root model's turns in a multi-turn strategy (recursive code mode, react)
TRAJECTORY_KINDS = frozenset({steps.CODE, steps.ACTION})
_ROLES = ("system", "user", "assistant", "tool")


def chat_record(
    root: str,
    info: Mapping[str, Any],
    events: list[dict[str, Any]],
    *,
    reasoning: Reasoning = "think",
    metadata: bool = False,
) -> dict[str, Any] | None:
    """The chat record of one stored run (see the module docs), or None for a run with no answer."""
    answer = info.get("answer")
    if not isinstance(answer, str) or not answer.strip():
        return None
    messages = trajectory(root, events)
    shape = "trajectory"
    if messages is None:
        shape = "answer"
        messages = [*_history(root, events), {"role": "user", "content": str(info["question"])}]
        thought = _reasoning(events, answer) if reasoning == "think" else ""
        content = f"<think>\n{thought}\n</think>\n\n{answer}" if thought else answer
        messages.append({"role": "assistant", "content": content})
    out: dict[str, Any] = {"messages": messages}
    if metadata:
        out["ponder"] = {
            "run_id": root,
            "shape": shape,
            "strategy": info.get("strategy"),
            "model": info.get("model"),
            "stop_reason": info.get("stop_reason"),
            "outcome": info.get("outcome") or "unknown",
            "score": info.get("outcome_score"),
        }
    return out


def trajectory(root: str, events: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The root model's multi-turn conversation of a code-mode or react run (its last turn's messages and
    reply), or None for a run that is not one (or fell back to another mode)."""
    last = None
    for event in events:
        if event["run_id"] != root:
            continue
        if event["type"] == "step" and event.get("kind") == steps.FALLBACK:
            return None
        if event["type"] == "model_call" and event.get("kind") in TRAJECTORY_KINDS and event.get("role") == "root":
            last = event
    if last is None or not str(last["text"]).strip():
        return None  # not a multi-turn run, or a last reply that was a native tool call (recorded as text only)
    messages = [_message(m) for m in last["messages"]]
    return [*messages, {"role": "assistant", "content": str(last["text"])}]


def _message(data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping) or data.get("role") not in _ROLES or not isinstance(data.get("content"), str):
        raise ValueError(f"a recorded message has no role and text: {str(data)[:200]}")
    out: dict[str, Any] = {"role": data["role"], "content": data["content"]}
    if data.get("tool_calls"):
        out["tool_calls"] = list(data["tool_calls"])
    if data.get("tool_call_id") is not None:
        out["tool_call_id"] = str(data["tool_call_id"])
    return out


def _history(root: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation the root run's question ended (from its stored spec), as messages."""
    started = next((e for e in events if e["type"] == "run_started" and e["run_id"] == root), None)
    spec = started.get("spec") if started is not None else None
    history = spec.get("history") if isinstance(spec, Mapping) else None
    return [_message(m) for m in history] if isinstance(history, list) else []


def _reasoning(events: list[dict[str, Any]], answer: str) -> str:
    """The run's steps as text, in order, without the steps at the end that only repeat the answer."""
    found = trace(events)
    while found and found[-1]["text"].strip() in ("", answer.strip()):
        found.pop()
    parts = []
    for step in found:
        text = str(step["text"]).strip()
        if step["kind"] == steps.TOOL:
            arguments = step["arguments"] if isinstance(step["arguments"], str) else repr(step["arguments"])
            parts.append(f"[tool {step['tool']}] {arguments}\n{text}".rstrip())
        elif text:
            parts.append(f"[{step['kind']}] {text}")
    return "\n\n".join(parts)


def export_chat(
    store: RunStore,
    stream: IO[str],
    *,
    strategy: str | None = None,
    outcome: str | None = None,
    min_score: float | None = None,
    reasoning: Reasoning = "think",
    metadata: bool = False,
    skipped: list[str] | None = None,
) -> int:
    """Write the chat records of the finished runs as JSON lines (the filters of
    :func:`~ponder.store.export.finished_runs`); returns how many were written."""

    def convert(root: str, info: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any] | None:
        return chat_record(root, info, events, reasoning=reasoning, metadata=metadata)

    found = finished_runs(store, convert, strategy=strategy, outcome=outcome, min_score=min_score, skipped=skipped)
    return write_jsonl(found, stream)
