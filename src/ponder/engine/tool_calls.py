"""Tool calls for the engine: a :class:`~ponder.requests.CallTool` admitted, replayed or made, and recorded.

A tool call is made within its deadline (see :mod:`ponder.engine.deadline`): the tool's own
``timeout`` (past it the call is abandoned and the model is told) and the run's time
left (past it the run stops: :class:`~ponder.errors.StopRun`). Its output, error and
arguments are cleaned to valid text (:mod:`ponder.guards.text`) before they are recorded.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..events import StepStarted, ToolCalled
from ..guards.text import clean, clean_tree, is_clean
from ..requests import CallTool
from ..result import Step
from ..tools.base import ToolResult
from .budget import BudgetMeter
from .deadline import Overdue, call_with_deadline
from .run_state import RunState
from .scope import Scope


def call_tool(scope: Scope, request: CallTool, run: RunState) -> Any:
    """Run one tool call. Tool calls are steps, but only model calls count against max_steps."""
    scope.meter.admit_tool()
    tool, recorder, replay = request.tool, scope.recorder, scope.replay
    index = recorder.take_index()
    recorder.emit(run, StepStarted, index, request.kind, run.depth)
    replayed = replay.tool_call(index, tool.name, request.arguments) if replay is not None else None
    result = replayed if replayed is not None else invoke(request, scope.meter)
    if not (is_clean(result.output) and is_clean(result.error or "")):  # a tool's output is text from outside
        result = replace(result, output=clean(result.output), error=clean(result.error or "") or result.error)
    if (arguments := clean_tree(request.arguments)) is not request.arguments:
        request = replace(request, arguments=arguments)
    data = {"tool": tool.name, "arguments": request.arguments, "ok": result.ok}
    step = Step(index, request.kind, result.observation, run.run_id, run.depth, seconds=result.seconds, data=data)
    run.steps.append(step)
    recorder.emit(
        run, ToolCalled, index, tool.name, request.arguments, result.ok, result.output, result.error, result.seconds
    )
    return result


def invoke(request: CallTool, meter: BudgetMeter) -> ToolResult:
    """Call the tool within its own deadline and the run's time left (see :mod:`ponder.engine.deadline`)."""
    tool, arguments = request.tool, request.arguments

    def call() -> ToolResult:
        return tool.invoke_text(arguments) if isinstance(arguments, str) else tool.invoke(arguments)

    limit, left = tool.timeout, meter.seconds_left()
    deadline = left if limit is None else limit if left is None else min(limit, left)
    during = f"a call to the tool {tool.name}"
    poll = (lambda: meter.check_running(during)) if meter.watched else None
    try:
        return call_with_deadline(call, deadline, poll=poll, name=f"ponder-tool-{tool.name}")
    except Overdue:
        if left is not None and (limit is None or left <= limit):
            raise meter.time_stop(during) from None
        message = f"the tool did not finish within {limit:g} s and was abandoned; try something smaller"
        return ToolResult(False, "", message, seconds=float(limit or 0))
