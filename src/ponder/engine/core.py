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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, replace
from typing import Any, ClassVar

from ..errors import ConfigError
from ..events import EventSink, StepRecorded
from ..guards.text import clean, clean_tree
from ..models.base import Model
from ..requests import Batch, CallTool, Checkpoint, Child, Children, Generate, Record, Request, Strategy
from ..result import RunResult, Step
from ..types import GenerationOptions, Message, clean_messages
from .budget import Budget, BudgetMeter, Cancellation
from .call_cache import CompletionCache, MemoryCache
from .children import run_child, run_children
from .dispatch import TextObserver
from .model_calls import generate
from .prices import PriceTable
from .recorder import Recorder
from .run_state import Replay, RunState
from .runs import drive
from .scope import Scope
from .tool_calls import call_tool

#: describes a run given as objects, for its sinks: (strategy, engine, question) -> the run's spec as
#: plain data, or None when some part of it cannot be built again from data
Describe = Callable[[Strategy, "Engine", str], Mapping[str, Any] | None]


class Engine:
    """Runs strategies against a model (and optionally a model per role) under one budget.

    >>> from ponder import Engine, ScriptedModel, strategies
    >>> engine = Engine(ScriptedModel(["Paris"]))
    >>> engine.run(strategies.Single(), "Capital of France?").answer
    'Paris'
    """

    #: the describer of an engine made without one: the builder's (:func:`ponder.builder.describe`), set
    #: when :mod:`ponder` is imported; the engine itself does not know the strategies or the spec
    default_describe: ClassVar[Describe | None] = None

    def __init__(
        self,
        model: Model,
        *,
        models: Mapping[str, Model] | None = None,
        budget: Budget | None = None,
        options: GenerationOptions | None = None,
        sinks: Iterable[EventSink] = (),
        on_text: TextObserver | None = None,
        max_parallel_calls: int = 8,
        replay: Replay | None = None,
        cache: bool | CompletionCache = True,
        prices: PriceTable | None = None,
        describe: Describe | None = None,
    ) -> None:
        if max_parallel_calls < 1:
            raise ConfigError(f"max_parallel_calls must be >= 1, got {max_parallel_calls}")
        self.model = model
        #: the model of each role; ``root`` is ``model``
        self.models: dict[str, Model] = {**(models or {}), "root": model}
        self.budget = budget or Budget()
        self.options = options or GenerationOptions()
        self.sinks = list(sinks)
        self.on_text = on_text
        self.max_parallel_calls = max_parallel_calls
        #: recorded results to replay before calling the model or tools live (resume)
        self.replay = replay
        #: True: identical deterministic calls of a run are made once; a CompletionCache: and kept there
        #: across runs (the store's); False: every call is made
        self.cache = cache
        #: what each model's tokens cost (:mod:`ponder.engine.prices`): the runs' costs, and the budget's ``max_usd``
        self.prices = prices
        #: describes a run given without a spec for the sinks (a store can then resume it); None: the default
        self.describe = describe

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
        records the spec its describer gives when it has sinks (see :func:`ponder.builder.describe`).
        ``history`` is the conversation the question ends (a client's system prompt and earlier
        turns; see :mod:`ponder.engine.conversation`); ``cancellation`` lets another thread stop the run
        at its next request.

        Raises :class:`~ponder.errors.PonderError` for problems a person must fix
        (after recording a ``run_finished`` event with stop reason ``error``).
        """
        if not question or not question.strip():
            raise ConfigError("the question is empty")
        question = clean(question)  # text entering a run is valid Unicode from here on (ponder.guards.text)
        scope = Scope(
            recorder=Recorder(self.sinks),
            meter=BudgetMeter(self.budget, cancellation, self.prices),
            options=self.options,
            on_text=self.on_text,
            max_parallel_calls=self.max_parallel_calls,
            replay=self.replay,
            cache=None if self.cache is False else MemoryCache(None if self.cache is True else self.cache),
            history=clean_messages(history),
            model_for=self.model_for,
            role_names=self.role_names(),
            limits=asdict(self.budget),  # every limit, None (unlimited) included
            spec=clean_tree(dict(spec)) if spec is not None else self._described(strategy, question),
            executor=execute,
        )
        return drive(scope, strategy, question, depth=0, parent=None)

    def model_for(self, role: str, level: int = 0) -> Model:
        """The model that answers calls of ``role`` (the root model for a role without one). A ``sub``
        call ``level`` levels below the root run uses the model of ``depth:LEVEL`` when the run names one."""
        if role == "sub" and level >= 1:
            by_depth = self.models.get(f"depth:{level}")
            if by_depth is not None:
                return by_depth
        return self.models.get(role) or self.model

    def role_names(self) -> dict[str, str]:
        """The name of each role's model (``root`` always; another role only when its model is not the root's)."""
        names = {"root": self.model.name}
        for role, model in self.models.items():
            if model is not self.model:
                names[role] = model.name
        return names

    def _described(self, strategy: Strategy, question: str) -> dict[str, Any] | None:
        describe = self.describe or Engine.default_describe
        if not self.sinks or describe is None:
            return None
        described = describe(strategy, self, question)
        return dict(described) if described is not None else None


def execute(scope: Scope, request: Request, run: RunState) -> Any:
    """The result of one request of ``run``: the engine's dispatch (the :class:`Scope`'s ``executor``)."""
    meter = scope.meter
    if isinstance(request, Generate):
        meter.admit_calls(1)
        return generate(scope, [request], run, stream=True)[0]
    if isinstance(request, Batch):
        if not request.requests:
            return []
        meter.admit_calls(len(request.requests))
        return generate(scope, request.requests, run, stream=False)
    if isinstance(request, Record):
        text, data = clean(request.text), clean_tree(request.data)  # text from outside, often
        if text is not request.text or data is not request.data:
            request = replace(request, text=text, data=data)
        index = scope.recorder.take_index()
        step = Step(index, request.kind, request.text, run.run_id, run.depth, data=dict(request.data))
        run.steps.append(step)
        scope.recorder.emit(run, StepRecorded, index, request.kind, request.text, step.data)
        return None
    if isinstance(request, CallTool):
        return call_tool(scope, request, run)
    if isinstance(request, Checkpoint):
        meter.check_running("the strategy's own work")
        return meter.seconds_left()
    if isinstance(request, Child):
        return run_child(scope, request, run)
    if isinstance(request, Children):
        return run_children(scope, request, run)
    raise TypeError(f"strategy yielded an unknown request: {request!r}")
