"""Replay of recorded model and tool results, for resuming a run.

The engine reruns the strategy from the start; before each model call and tool
call it asks the :class:`Replayer` for the recorded result of that step. Steps
are numbered deterministically in a rerun of the same run, so a recorded call
is found by its step index (the calls of a batch are recorded as they complete,
in any order); its messages and options (or tool and arguments) must be the
same, otherwise the run has diverged (the strategy, model, configuration or
context changed) and resuming stops with a clear error. A step with no record
runs live. A rerun that ends while recorded results are still unasked for has
diverged too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..events import _plain
from ..tools.base import ToolResult
from ..types import Completion, GenerationOptions, Message, Usage
from .errors import StoreError


class ReplayDivergedError(StoreError):
    """The rerun of a resumed run asked for something other than what was recorded."""


class Replayer:
    """Serves recorded results by step to an :class:`~ponder.engine.Engine` (its ``replay`` hook)."""

    def __init__(self, events: Sequence[dict[str, Any]], *, by_content: bool = False) -> None:
        #: ``by_content``: serve any recorded call with the same kind, prompt and options (in step order),
        #: and do not require the rerun to ask for them all: for reruns that differ from the record on
        #: purpose (a learned stop policy replayed over a fixed-budget run); a resume matches by step
        self.by_content = by_content
        self._by_content: dict[str, list[dict[str, Any]]] = {}
        for event in sorted((e for e in events if e["type"] == "model_call"), key=lambda e: int(e["step"])):
            self._by_content.setdefault(_content_key(event["kind"], event["messages"], event["options"]), []).append(
                event
            )
        self._run_ids: list[str] = [str(e["run_id"]) for e in events if e["type"] == "run_started"]
        self._calls = {int(e["step"]): e for e in events if e["type"] == "model_call"}
        self._tools = {int(e["step"]): e for e in events if e["type"] == "tool_call"}
        self._used_calls: set[int] = set()
        self._used_tools: set[int] = set()
        self._runs = 0

    @property
    def replayed_calls(self) -> int:
        return len(self._used_calls)

    @property
    def replayed_tools(self) -> int:
        return len(self._used_tools)

    @property
    def pending(self) -> int:
        """Recorded model calls not yet replayed."""
        return len(self._calls) - len(self._used_calls)

    def run_id(self) -> str | None:
        """The recorded id of the next run (root or child) the rerun starts, or None past the record."""
        if self._runs >= len(self._run_ids):
            return None
        self._runs += 1
        return self._run_ids[self._runs - 1]

    def model_call(
        self, step: int, messages: Sequence[Message], options: GenerationOptions, kind: str
    ) -> tuple[Completion, float] | None:
        """The recorded completion and its seconds for the call of ``step``, or None to call the model live."""
        if self.by_content:
            queue = self._by_content.get(_content_key(kind, _plain(tuple(messages)), _plain(options)), [])
            if not queue:
                return None
            found = queue.pop(0)
            self._used_calls.add(int(found["step"]))
            return _completion(found)
        recorded = self._calls.get(step)
        if recorded is None:
            return None
        if recorded.get("kind") != kind or recorded.get("messages") != _plain(tuple(messages)):
            raise ReplayDivergedError(
                f"resume diverged at step {step} ({kind}): the prompt differs from the recorded one"
                " (the strategy, model, configuration or context changed)"
            )
        if _with_defaults(recorded.get("options")) != _plain(options):
            raise ReplayDivergedError(
                f"resume diverged at step {step} ({kind}): the generation options differ from the recorded ones"
            )
        self._used_calls.add(step)
        return _completion(recorded)

    def tool_call(self, step: int, tool: str, arguments: Any) -> ToolResult | None:
        """The recorded result of the tool call of ``step``, or None to call the tool live."""
        recorded = self._tools.get(step)
        if recorded is None:
            return None
        if recorded.get("tool") != tool or recorded.get("arguments") != _plain(arguments):
            raise ReplayDivergedError(
                f"resume diverged at step {step} ({tool}): the tool or its arguments differ from the recorded ones"
            )
        self._used_tools.add(step)
        return ToolResult(
            bool(recorded["ok"]),
            recorded.get("output", ""),
            recorded.get("error"),
            seconds=recorded.get("seconds", 0.0),
        )

    def finish(self) -> None:
        """Raise :class:`ReplayDivergedError` if the rerun ended with recorded results never asked for."""
        unused = sorted(set(self._calls) - self._used_calls) + sorted(set(self._tools) - self._used_tools)
        if unused and not self.by_content:
            raise ReplayDivergedError(
                f"resume diverged: the rerun ended before the recorded run did ({len(unused)} recorded results,"
                f" from step {unused[0]}, were never asked for; the strategy, model, configuration or context changed)"
            )


def _with_defaults(options: Any) -> Any:
    """Recorded options with the fields a newer ponder added at their defaults (an older record resumes)."""
    if not isinstance(options, dict):
        return options
    return {**_plain(GenerationOptions()), **options}


def _content_key(kind: str, messages: Any, options: Any) -> str:
    return json.dumps([kind, messages, _with_defaults(options)], sort_keys=True, ensure_ascii=False)


def _completion(recorded: dict[str, Any]) -> tuple[Completion, float]:
    usage = Usage(**{k: v for k, v in recorded["usage"].items() if k != "total_tokens"})
    completion = Completion(recorded["text"], recorded["finish_reason"], usage, recorded.get("model", ""))
    return completion, float(recorded.get("seconds", 0.0))
