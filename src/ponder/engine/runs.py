"""A run's life in the engine: opened (``run_started``), driven request by request, ended (``run_finished``).

:func:`drive` runs one strategy to its end (the top-level run, or a :class:`~ponder.requests.Child`):
it opens the run, steps its generator (:class:`~ponder.engine.run_loop.RunLoop`), has the
:class:`~ponder.engine.scope.Scope` execute each request, and ends the run with the strategy's
outcome, or with stop reason ``error`` when something raised. A group of children
(:mod:`ponder.engine.children`) steps its members itself and uses :func:`open_run`, :func:`close_run`
and :func:`fail_run` for their beginnings and ends.
"""

from __future__ import annotations

import time

from ..events import RunFinished, RunStarted
from ..guards.text import clean
from ..requests import Outcome, Strategy
from ..result import RunResult
from .run_loop import RunLoop
from .run_state import RunState
from .scope import Scope


def drive(
    scope: Scope,
    strategy: Strategy,
    question: str,
    depth: int,
    parent: str | None,
    temperature: float | None = None,
    seed: int | None = None,
    role: str = "root",
) -> RunResult:
    """Run ``strategy`` on ``question`` to its end, as a run at ``depth`` below ``parent`` (None: the top)."""
    question = clean(question)
    run = open_run(scope, strategy, question, depth, parent, temperature, seed, role)
    loop = RunLoop(strategy.run(question), run)
    try:
        while (request := loop.next()) is not None:
            loop.settle(lambda: scope.execute(request, run))
    except BaseException as exc:
        fail_run(scope, run, exc)
        raise
    finally:
        loop.close()
    assert loop.outcome is not None
    return close_run(scope, run, loop.outcome, question, strategy, parent)


def open_run(
    scope: Scope,
    strategy: Strategy,
    question: str,
    depth: int,
    parent: str | None,
    temperature: float | None,
    seed: int | None,
    role: str,
) -> RunState:
    """A new run's state, its ``run_started`` recorded."""
    run = RunState(depth, temperature, seed, role)
    recorded_id = scope.replay.run_id() if scope.replay is not None else None
    if recorded_id is not None:
        run.run_id = recorded_id
    scope.recorder.emit(
        run,
        RunStarted,
        strategy.name,
        scope.model_for(role, depth).name,
        question,
        depth,
        parent,
        dict(scope.limits),
        dict(scope.role_names),
        scope.spec if parent is None else None,
    )
    return run


def fail_run(scope: Scope, run: RunState, exc: BaseException) -> RunResult:
    """End ``run`` with stop reason ``error`` (the exception's message), recorded."""
    error = str(exc) or type(exc).__name__
    return _finish(scope, run, Outcome(None, "error", error), error=error)


def close_run(
    scope: Scope, run: RunState, outcome: Outcome, question: str, strategy: Strategy, parent: str | None
) -> RunResult:
    """End ``run`` with the strategy's ``outcome``, recorded; a top-level rerun first checks that its
    replay was used up (a rerun that ends before the record does has diverged)."""
    if scope.replay is not None and parent is None:
        try:
            scope.replay.finish()
        except BaseException as exc:
            _finish(scope, run, Outcome(None, "error", str(exc)), error=str(exc))
            raise
    return _finish(scope, run, outcome, question=question, strategy=strategy.name)


def _finish(
    scope: Scope, run: RunState, outcome: Outcome, *, error: str | None = None, question: str = "", strategy: str = ""
) -> RunResult:
    seconds = time.perf_counter() - run.started
    scope.recorder.emit(
        run,
        RunFinished,
        outcome.answer,
        outcome.stop_reason,
        outcome.detail,
        run.usage,
        seconds,
        error,
        dict(run.by_model),
    )
    return RunResult(
        run.run_id,
        question,
        outcome.answer,
        outcome.stop_reason,
        outcome.detail,
        strategy,
        scope.model_for(run.role, run.depth).name,
        run.steps,
        run.usage,
        seconds,
        run.events,
        run.by_model,
    )
