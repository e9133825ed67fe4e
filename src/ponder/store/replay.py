"""Replay of recorded model and tool results, for resuming a run.

The engine reruns the strategy from the start; before each model call and tool
call it asks the :class:`Replayer` for the recorded result. The k-th call of
the rerun is matched with the k-th recorded call: its messages and options (or
tool and arguments) must be the same, otherwise the run has diverged (the
strategy, model or configuration changed) and resuming stops with a clear
error. Once the recorded calls are used up, the engine goes on live.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..events import _plain
from ..tools.base import ToolResult
from ..types import Completion, GenerationOptions, Message, Usage
from .errors import StoreError


class ReplayDivergedError(StoreError):
    """The rerun of a resumed run asked for something other than what was recorded."""


class Replayer:
    """Serves recorded results in order to an :class:`~ponder.engine.Engine` (its ``replay`` hook)."""

    def __init__(self, events: Sequence[dict[str, Any]]) -> None:
        self._run_ids: list[str] = [str(e["run_id"]) for e in events if e["type"] == "run_started"]
        self._calls = [e for e in events if e["type"] == "model_call"]
        self._tools = [e for e in events if e["type"] == "tool_call"]
        self.replayed_calls = 0
        self.replayed_tools = 0
        self._runs = 0

    @property
    def pending(self) -> int:
        """Recorded model calls not yet replayed."""
        return len(self._calls) - self.replayed_calls

    def run_id(self) -> str | None:
        """The recorded id of the next run (root or child) the rerun starts, or None past the record."""
        if self._runs >= len(self._run_ids):
            return None
        self._runs += 1
        return self._run_ids[self._runs - 1]

    def model_call(
        self, messages: Sequence[Message], options: GenerationOptions, kind: str
    ) -> tuple[Completion, float] | None:
        """The recorded completion and its seconds for this call, or None to call the model live."""
        if self.replayed_calls >= len(self._calls):
            return None
        recorded = self._calls[self.replayed_calls]
        number = self.replayed_calls + 1
        if recorded.get("kind") != kind or recorded.get("messages") != _plain(tuple(messages)):
            raise ReplayDivergedError(
                f"resume diverged at model call {number} ({kind}): the prompt differs from the recorded one"
                " (the strategy, model or configuration changed)"
            )
        if recorded.get("options") != _plain(options):
            raise ReplayDivergedError(
                f"resume diverged at model call {number} ({kind}): the generation options differ from the recorded ones"
            )
        self.replayed_calls += 1
        usage = Usage(**{k: v for k, v in recorded["usage"].items() if k != "total_tokens"})
        completion = Completion(recorded["text"], recorded["finish_reason"], usage, recorded.get("model", ""))
        return completion, float(recorded.get("seconds", 0.0))

    def tool_call(self, tool: str, arguments: Any) -> ToolResult | None:
        """The recorded result of this tool call, or None to call the tool live."""
        if self.replayed_tools >= len(self._tools):
            return None
        recorded = self._tools[self.replayed_tools]
        if recorded.get("tool") != tool or recorded.get("arguments") != _plain(arguments):
            raise ReplayDivergedError(
                f"resume diverged at tool call {self.replayed_tools + 1} ({tool}): the tool or its arguments differ"
                " from the recorded ones"
            )
        self.replayed_tools += 1
        return ToolResult(
            bool(recorded["ok"]),
            recorded.get("output", ""),
            recorded.get("error"),
            seconds=recorded.get("seconds", 0.0),
        )
