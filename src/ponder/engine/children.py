"""Child runs for the engine: one at a time (:class:`~ponder.requests.Child`) or a group at once
(:class:`~ponder.requests.Children`).

A group is stepped on the engine's thread, in rounds: each running child is
asked for its next request (:class:`~ponder.engine.run_loop.RunLoop`), the model calls
of all of them (their ``Generate`` s and ``Batch`` es) go out as one batch,
concurrently, and every other request (a record, a tool call, a nested child)
is executed in child order. So the children's model calls overlap while the
step indices, and with them the replay of a resumed run, stay deterministic.

At most ``max_parallel_children`` children run at once; the next one starts when one
ends. Every child is admitted by the shared budget meter before it starts: a
child the budget has no room for ends with the budget's stop reason without
starting. A child that fails (a backend error on its own call, an exception in
its strategy) is ended with stop reason ``error``, and the others go on; only
an interrupt from outside, a store that cannot be written or a replay that
diverged stops the whole group.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, DepthLimit, PromptTooLong, RunInterruptedError, StopRun
from ..guards.text import clean
from ..requests import Batch, Child, Children, Generate, Outcome, Request
from ..result import RunResult
from ..store.errors import StoreError
from ..types import Completion, Usage
from .dispatch import mix_seed
from .model_calls import generate
from .run_loop import RunLoop
from .run_state import RunState
from .runs import close_run, drive, fail_run, open_run
from .scope import Scope

#: failures that end the whole group (the run cannot go on), not just one child
_FATAL = (RunInterruptedError, StoreError)


def run_child(scope: Scope, request: Child, run: RunState) -> Outcome:
    """Run one child to its end (the engine's ``Child`` request)."""
    scope.meter.admit_child(run.depth + 1)
    temperature, seed, role = _inherited(request, run)
    child = drive(scope, request.strategy, request.question, run.depth + 1, run.run_id, temperature, seed, role)
    adopt(run, child)
    return Outcome(child.answer, child.stop_reason, child.detail)


def adopt(run: RunState, child: RunResult) -> None:
    """Add a finished child's usage and steps to its parent's."""
    run.usage.add(child.usage)
    for name, used in child.usage_by_model.items():
        run.by_model.setdefault(name, Usage()).add(used)
    run.steps.extend(child.steps)


@dataclass
class _Member:
    position: int
    child: Child
    run: RunState
    loop: RunLoop


def run_children(scope: Scope, request: Children, run: RunState) -> list[Outcome]:
    """Run the group's children (see the module docs); their outcomes in request order."""
    limit = request.max_parallel_children
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise ConfigError(f"Children.max_parallel_children must be a whole number, got {limit!r}")
    if limit < 1:
        raise ConfigError(f"Children.max_parallel_children must be >= 1, got {limit}")
    if not request.children:
        return []
    scope.meter.admit_child(run.depth + 1)  # a group nesting too deep (DepthLimit), or no room at all, is refused whole
    outcomes: list[Outcome | None] = [None] * len(request.children)
    waiting = deque(enumerate(request.children))
    active: list[_Member] = []
    try:
        while waiting or active:
            while waiting and len(active) < limit:
                position, child = waiting.popleft()
                member = _start(scope, position, child, run)
                if isinstance(member, Outcome):
                    outcomes[position] = member
                else:
                    active.append(member)
            wanting: list[tuple[_Member, Request]] = []
            for member in list(active):
                try:
                    next_request = member.loop.next()
                except _FATAL:
                    raise
                except Exception as exc:  # the child's strategy raised: that child fails
                    outcomes[member.position] = _fail(scope, run, member, exc)
                    active.remove(member)
                    continue
                if next_request is None:
                    outcomes[member.position] = _end(scope, run, member)
                    active.remove(member)
                else:
                    wanting.append((member, next_request))
            calls: list[tuple[_Member, Generate | Batch]] = [
                (m, r) for m, r in wanting if isinstance(r, Generate) or (isinstance(r, Batch) and r.requests)
            ]
            calling = {id(m) for m, _ in calls}
            for member, other in wanting:
                if id(member) in calling:
                    continue
                _settle(scope, run, member, other, outcomes, active)
            if calls:
                _call_together(scope, run, calls, outcomes, active)
    except BaseException as exc:
        for member in active:
            fail_run(scope, member.run, exc)
            member.loop.close()
        raise
    return [o if o is not None else Outcome(None, "error", "the child did not run") for o in outcomes]


def _inherited(request: Child, run: RunState) -> tuple[float | None, int | None, str]:
    temperature = request.temperature if request.temperature is not None else run.temperature
    return temperature, mix_seed(run.seed, request.seed), request.role or run.role


def _start(scope: Scope, position: int, child: Child, run: RunState) -> _Member | Outcome:
    try:
        scope.meter.admit_child(run.depth + 1)
    except StopRun as stop:  # no room left in the budget: this child does not start
        return Outcome(None, stop.reason, stop.detail)
    temperature, seed, role = _inherited(child, run)
    question = clean(child.question)  # as the engine's own runs: valid text from here on
    child_run = open_run(scope, child.strategy, question, run.depth + 1, run.run_id, temperature, seed, role)
    try:
        gen = child.strategy.run(question)
    except Exception as exc:
        result = fail_run(scope, child_run, exc)
        adopt(run, result)
        return Outcome(None, "error", result.detail)
    return _Member(position, child, child_run, RunLoop(gen, child_run))


def _end(scope: Scope, run: RunState, member: _Member) -> Outcome:
    member.loop.close()
    assert member.loop.outcome is not None
    result = close_run(
        scope, member.run, member.loop.outcome, clean(member.child.question), member.child.strategy, run.run_id
    )
    adopt(run, result)
    return Outcome(result.answer, result.stop_reason, result.detail)


def _fail(scope: Scope, run: RunState, member: _Member, exc: Exception) -> Outcome:
    member.loop.close()
    result = fail_run(scope, member.run, exc)
    adopt(run, result)
    return Outcome(None, "error", result.detail)


def _settle(
    scope: Scope,
    run: RunState,
    member: _Member,
    request: Request,
    outcomes: list[Outcome | None],
    active: list[_Member],
) -> None:
    try:
        member.loop.settle(lambda: scope.execute(request, member.run))
    except _FATAL:
        raise
    except Exception as exc:
        outcomes[member.position] = _fail(scope, run, member, exc)
        active.remove(member)


def _call_together(
    scope: Scope,
    run: RunState,
    calls: list[tuple[_Member, Generate | Batch]],
    outcomes: list[Outcome | None],
    active: list[_Member],
) -> None:
    """The model calls of every child that asked for some, as one batch; each child gets its part."""
    flat: list[Generate] = []
    owners: list[RunState] = []
    spans: list[tuple[int, int]] = []
    for member, request in calls:
        parts = (request,) if isinstance(request, Generate) else request.requests
        spans.append((len(flat), len(flat) + len(parts)))
        flat.extend(parts)
        owners.extend([member.run] * len(parts))
    failures: dict[int, Exception] = {}
    try:
        scope.meter.admit_calls(len(flat))
        completions = generate(scope, flat, run, stream=False, runs=owners, failures=failures)
    except DepthLimit:
        raise
    except StopRun:  # not all of them fit: each child asks on its own, so each gets its own stop
        for member, request in calls:
            _settle(scope, run, member, request, outcomes, active)
        return
    for (member, request), (start, end) in zip(calls, spans, strict=True):
        mine: list[Completion] = completions[start:end]
        failed = [failures[i] for i in range(start, end) if i in failures]
        if failed and len(failed) == end - start and isinstance(failed[0], PromptTooLong):
            member.loop.pending = failed[0]  # thrown into that child's strategy, as for a call of its own
            continue
        if failed and len(failed) == end - start:  # its call failed alone, or its whole batch: the child fails
            outcomes[member.position] = _fail(scope, run, member, failed[0])
            active.remove(member)
            continue
        value: Any = mine[0] if isinstance(request, Generate) else mine
        member.loop.deliver(value)
