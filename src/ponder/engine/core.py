"""The engine: the state manager that drives strategies.

A strategy is a generator of requests (see :mod:`ponder.requests`). The engine
sends it the result of each request, and is the one place that

* executes model calls (one at a time, or a :class:`~ponder.requests.Batch`
  concurrently when the backend allows it, or decoded together on a backend with
  ``supports_batch``; see :mod:`ponder.engine.model_calls` and :mod:`ponder.engine.dispatch`), each on
  the model of the role it names (``root``, ``sub``, ``fast``, ``judge``;
  a role without a model of its own uses the root model),
* asks the :class:`~ponder.engine.budget.BudgetMeter` to admit every model call, tool
  call and child run (and to price each call: ``prices``); when a limit is reached it throws
  :class:`~ponder.errors.StopRun` into the strategy, which may catch it and
  return its best answer so far,
* records every step and model call as typed events, delivered to the sinks
  as they happen,
* runs child strategies (``Child``, or a group at once: ``Children``; see
  :mod:`ponder.engine.children`) with the shared budget, up to a depth limit,
* keeps every call inside its deadline (see :mod:`ponder.engine.deadline`): a tool call is
  abandoned after its tool's ``timeout`` (the model is told), and a run's
  ``max_seconds`` (or its cancellation) ends the run even while a tool or a model
  call is stuck: the strategy gets :class:`~ponder.errors.StopRun` and returns
  its best answer so far,
* answers identical deterministic calls once (:mod:`ponder.engine.call_cache`): from a
  per-run cache, and from a longer-lived one (the store's, ``--cache``) when given,
* throws :class:`~ponder.errors.PromptTooLong` (a prompt the model's window cannot
  hold, found before the call) into the strategy, which may send less instead.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, replace
from typing import Any

from ..errors import ConfigError
from ..events import Event, EventSink, RunFinished, RunStarted, StepRecorded
from ..guards.text import clean, clean_tree
from ..models.base import Model
from ..requests import Batch, CallTool, Checkpoint, Child, Children, Generate, Outcome, Record, Request, Strategy
from ..result import RunResult, Step
from ..spec.describe import describe_run
from ..types import GenerationOptions, Message, clean_messages
from .budget import Budget, BudgetMeter, Cancellation
from .call_cache import CompletionCache, MemoryCache
from .children import run_child, run_children
from .dispatch import TextObserver
from .model_calls import generate
from .prices import PriceTable
from .run_loop import RunLoop
from .run_state import Replay, RunState
from .tool_calls import call_tool


class Engine:
    """Runs strategies against a model (and optionally a model per role) under one budget.

    >>> from ponder import Engine, ScriptedModel, strategies
    >>> engine = Engine(ScriptedModel(["Paris"]))
    >>> engine.run(strategies.Single(), "Capital of France?").answer
    'Paris'
    """

    def __init__(
        self,
        model: Model,
        *,
        models: Mapping[str, Model] | None = None,
        budget: Budget | None = None,
        options: GenerationOptions | None = None,
        sinks: Iterable[EventSink] = (),
        on_text: TextObserver | None = None,
        max_concurrency: int = 8,
        replay: Replay | None = None,
        cache: bool | CompletionCache = True,
        prices: PriceTable | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ConfigError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self.model = model
        #: the model of each role; ``root`` is ``model``
        self.models: dict[str, Model] = {**(models or {}), "root": model}
        self.budget = budget or Budget()
        self.options = options or GenerationOptions()
        self.sinks = list(sinks)
        self.on_text = on_text
        self.max_concurrency = max_concurrency
        #: recorded results to replay before calling the model or tools live (resume)
        self.replay = replay
        #: True: identical deterministic calls of a run are made once; a CompletionCache: and kept there
        #: across runs (the store's); False: every call is made
        self.cache = cache
        #: what each model's tokens cost (:mod:`ponder.engine.prices`): the runs' costs, and the budget's ``max_usd``
        self.prices = prices
        self._cache: MemoryCache | None = None
        self._seq = 0
        self._index = 0
        self._spec: dict[str, Any] | None = None
        self._history: tuple[Message, ...] = ()

    # -- public -------------------------------------------------------------

    def run(
        self,
        strategy: Strategy,
        question: str,
        *,
        spec: Mapping[str, Any] | None = None,
        history: Sequence[Message] = (),
        cancellation: Cancellation | None = None,
    ) -> RunResult:
        """Run ``strategy`` on ``question`` to completion and return the result.

        ``spec`` is the run's :class:`~ponder.spec.RunSpec` as plain data (recorded in the
        ``run_started`` event, so a store can resume the run); without it the engine
        records the spec it can describe when it has sinks (see :func:`ponder.spec.describe_run`).
        ``history`` is the conversation the question ends (a client's system prompt and earlier
        turns; see :mod:`ponder.engine.conversation`); ``cancellation`` lets another thread stop the run
        at its next request.

        Raises :class:`~ponder.errors.PonderError` for problems a person must fix
        (after recording a ``run_finished`` event with stop reason ``error``).
        """
        if not question or not question.strip():
            raise ConfigError("the question is empty")
        question = clean(question)  # text entering a run is valid Unicode from here on (ponder.guards.text)
        self._seq = 0
        self._index = 0
        self._spec = clean_tree(dict(spec)) if spec is not None else self._describe(strategy, question)
        self._history = clean_messages(history)
        if self.cache is False:
            self._cache = None
        else:
            self._cache = MemoryCache(None if self.cache is True else self.cache)
        meter = BudgetMeter(self.budget, cancellation, self.prices)
        return self._run(strategy, question, meter, depth=0, parent=None)

    def model_for(self, role: str, level: int = 0) -> Model:
        """The model that answers calls of ``role`` (the root model for a role without one). A ``sub``
        call ``level`` levels below the root run uses the model of ``depth:LEVEL`` when the run names one."""
        if role == "sub" and level >= 1:
            by_depth = self.models.get(f"depth:{level}")
            if by_depth is not None:
                return by_depth
        return self.models.get(role) or self.model

    def _model_of(self, request: Generate, run: RunState) -> Model:
        """The model of one call: its role's; a ``sub`` call is one level below the run that makes it
        (a ``recursive`` sub-query), a call of a ``sub`` run without a role of its own is at the run's depth."""
        role = request.role or run.role
        return self.model_for(role, run.depth + (1 if request.role == "sub" else 0))

    def _describe(self, strategy: Strategy, question: str) -> dict[str, Any] | None:
        if not self.sinks:
            return None
        described = describe_run(strategy, self.model, self.models, self.budget, self.options, question, self.prices)
        return described.to_dict() if described is not None else None

    # -- internals ----------------------------------------------------------

    def _emit(self, run: RunState, event: Event) -> None:
        run.events.append(event)
        for sink in self.sinks:
            sink(event)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _run(
        self,
        strategy: Strategy,
        question: str,
        meter: BudgetMeter,
        depth: int,
        parent: str | None,
        temperature: float | None = None,
        seed: int | None = None,
        role: str = "root",
    ) -> RunResult:
        question = clean(question)
        run = self._open(strategy, question, depth, parent, temperature, seed, role)
        loop = RunLoop(strategy.run(question), run)
        try:
            while (request := loop.next()) is not None:
                loop.settle(lambda: self._execute(request, run, meter))
        except BaseException as exc:
            self._fail(run, exc)
            raise
        finally:
            loop.close()
        assert loop.outcome is not None
        return self._close(run, loop.outcome, question, strategy, parent)

    def _open(
        self,
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
        recorded_id = self.replay.run_id() if self.replay is not None else None
        if recorded_id is not None:
            run.run_id = recorded_id
        budget = asdict(self.budget)  # every limit, None (unlimited) included
        self._emit(
            run,
            RunStarted(
                run.run_id,
                self._next_seq(),
                time.time(),
                strategy.name,
                self.model_for(role, depth).name,
                question,
                depth,
                parent,
                budget,
                self._role_names(),
                self._spec if parent is None else None,
            ),
        )
        return run

    def _fail(self, run: RunState, exc: BaseException) -> RunResult:
        """End ``run`` with stop reason ``error`` (the exception's message), recorded."""
        error = str(exc) or type(exc).__name__
        return self._finish(run, Outcome(None, "error", error), error=error)

    def _close(
        self, run: RunState, outcome: Outcome, question: str, strategy: Strategy, parent: str | None
    ) -> RunResult:
        if self.replay is not None and parent is None:
            try:
                self.replay.finish()  # a rerun that ends before the record does has diverged
            except BaseException as exc:
                self._finish(run, Outcome(None, "error", str(exc)), error=str(exc))
                raise
        return self._finish(run, outcome, question=question, strategy=strategy.name)

    def _finish(
        self, run: RunState, outcome: Outcome, *, error: str | None = None, question: str = "", strategy: str = ""
    ) -> RunResult:
        seconds = time.perf_counter() - run.started
        self._emit(
            run,
            RunFinished(
                run.run_id,
                self._next_seq(),
                time.time(),
                outcome.answer,
                outcome.stop_reason,
                outcome.detail,
                run.usage,
                seconds,
                error,
                dict(run.by_model),
            ),
        )
        return RunResult(
            run.run_id,
            question,
            outcome.answer,
            outcome.stop_reason,
            outcome.detail,
            strategy,
            self.model_for(run.role, run.depth).name,
            run.steps,
            run.usage,
            seconds,
            run.events,
            run.by_model,
        )

    def _execute(self, request: Request, run: RunState, meter: BudgetMeter) -> Any:
        if isinstance(request, Generate):
            meter.admit_calls(1)
            return generate(self, [request], run, meter, stream=True)[0]
        if isinstance(request, Batch):
            if not request.requests:
                return []
            meter.admit_calls(len(request.requests))
            return generate(self, request.requests, run, meter, stream=False)
        if isinstance(request, Record):
            text, data = clean(request.text), clean_tree(request.data)  # text from outside, often
            if text is not request.text or data is not request.data:
                request = replace(request, text=text, data=data)
            step = Step(self._take_index(), request.kind, request.text, run.run_id, run.depth, data=dict(request.data))
            run.steps.append(step)
            self._emit(
                run,
                StepRecorded(
                    run.run_id, self._next_seq(), time.time(), step.index, request.kind, request.text, step.data
                ),
            )
            return None
        if isinstance(request, CallTool):
            return call_tool(self, request, run, meter)
        if isinstance(request, Checkpoint):
            meter.check_running("the strategy's own work")
            return meter.seconds_left()
        if isinstance(request, Child):
            return run_child(self, request, run, meter)
        if isinstance(request, Children):
            return run_children(self, request, run, meter)
        raise TypeError(f"strategy yielded an unknown request: {request!r}")

    def _role_names(self) -> dict[str, str]:
        names = {"root": self.model.name}
        for role, model in self.models.items():
            if model is not self.model:
                names[role] = model.name
        return names

    def _take_index(self) -> int:
        index = self._index
        self._index += 1
        return index
