"""Tool calls for the engine: a :class:`~ponder.requests.CallTool` admitted, replayed or made, and recorded."""

from __future__ import annotations

import time
from typing import Any, Protocol

from .budget import BudgetMeter
from .events import Event, StepStarted, ToolCalled
from .requests import CallTool
from .result import Step
from .run_state import Replay, RunState


class Engine(Protocol):
    """What a tool call needs of :class:`~ponder.engine.Engine` (a protocol: no import cycle)."""

    replay: Replay | None

    def _take_index(self) -> int: ...

    def _next_seq(self) -> int: ...

    def _emit(self, run: RunState, event: Event) -> None: ...


def call_tool(engine: Engine, request: CallTool, run: RunState, meter: BudgetMeter) -> Any:
    """Run one tool call. Tool calls are steps, but only model calls count against max_steps."""
    meter.admit_tool()
    tool = request.tool
    index = engine._take_index()
    engine._emit(run, StepStarted(run.run_id, engine._next_seq(), time.time(), index, request.kind, run.depth))
    replay = engine.replay
    replayed = replay.tool_call(index, tool.name, request.arguments) if replay is not None else None
    if replayed is not None:
        result = replayed
    elif isinstance(request.arguments, str):
        result = tool.invoke_text(request.arguments)
    else:
        result = tool.invoke(request.arguments)
    data = {"tool": tool.name, "arguments": request.arguments, "ok": result.ok}
    step = Step(index, request.kind, result.observation, run.run_id, run.depth, seconds=result.seconds, data=data)
    run.steps.append(step)
    engine._emit(
        run,
        ToolCalled(
            run.run_id,
            engine._next_seq(),
            time.time(),
            index,
            tool.name,
            request.arguments,
            result.ok,
            result.output,
            result.error,
            result.seconds,
        ),
    )
    return result
