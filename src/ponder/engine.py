"""The engine: the state manager that drives strategies.

A strategy is a generator of requests (see :mod:`ponder.requests`). The engine
sends it the result of each request, and is the one place that

* executes model calls (one at a time, or a :class:`~ponder.requests.Batch`
  concurrently when the backend allows it; see :mod:`ponder.calls`), each on
  the model of the role it names (``root``, ``sub``, ``fast``, ``judge``;
  a role without a model of its own uses the root model),
* asks the :class:`~ponder.budget.BudgetMeter` to admit every model call, tool
  call and child run; when a limit is reached it throws
  :class:`~ponder.errors.StopRun` into the strategy, which may catch it and
  return its best answer so far,
* records every step and model call as typed events, delivered to the sinks
  as they happen,
* runs child strategies (``Child``) with the shared budget, up to a depth limit,
* keeps every call inside its deadline (see :mod:`ponder.deadline`): a tool call is
  abandoned after its tool's ``timeout`` (the model is told), and a run's
  ``max_seconds`` (or its cancellation) ends the run even while a tool or a model
  call is stuck: the strategy gets :class:`~ponder.errors.StopRun` and returns
  its best answer so far,
* answers identical deterministic calls once (:mod:`ponder.cache`): from a
  per-run cache, and from a longer-lived one (the store's, ``--cache``) when given,
* throws :class:`~ponder.errors.PromptTooLong` (a prompt the model's window cannot
  hold, found before the call) into the strategy, which may send less instead.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, replace
from typing import Any

from .budget import Budget, BudgetMeter, Cancellation
from .cache import CompletionCache, MemoryCache, as_cached, lookup
from .calls import TextObserver, Timed, call_options, complete_all, mix_seed
from .conversation import with_history
from .deadline import Overdue, call_with_deadline
from .errors import ConfigError, DepthLimit, PromptTooLong, StopRun
from .events import Event, EventSink, ModelCalled, RunFinished, RunStarted, StepRecorded, StepStarted, ToolCalled
from .models.base import Model
from .requests import Batch, CallTool, Checkpoint, Child, Generate, Outcome, Record, Request, Strategy
from .result import RunResult, Step
from .run_state import Replay, RunState
from .spec.describe import describe_run
from .text import clean, clean_tree, is_clean
from .tools.base import ToolResult
from .types import Completion, GenerationOptions, Message, Usage, clean_messages


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
        turns; see :mod:`ponder.conversation`); ``cancellation`` lets another thread stop the run
        at its next request.

        Raises :class:`~ponder.errors.PonderError` for problems a person must fix
        (after recording a ``run_finished`` event with stop reason ``error``).
        """
        if not question or not question.strip():
            raise ConfigError("the question is empty")
        question = clean(question)  # text entering a run is valid Unicode from here on (ponder.text)
        self._seq = 0
        self._index = 0
        self._spec = clean_tree(dict(spec)) if spec is not None else self._describe(strategy, question)
        self._history = clean_messages(history)
        if self.cache is False:
            self._cache = None
        else:
            self._cache = MemoryCache(None if self.cache is True else self.cache)
        meter = BudgetMeter(self.budget, cancellation)
        return self._run(strategy, question, meter, depth=0, parent=None)

    def model_for(self, role: str) -> Model:
        """The model that answers calls of ``role`` (the root model for a role without one)."""
        return self.models.get(role) or self.model

    def _describe(self, strategy: Strategy, question: str) -> dict[str, Any] | None:
        if not self.sinks:
            return None
        described = describe_run(strategy, self.model, self.models, self.budget, self.options, question)
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
                self.model_for(role).name,
                question,
                depth,
                parent,
                budget,
                self._role_names(),
                self._spec if parent is None else None,
            ),
        )
        gen = strategy.run(question)
        outcome: Outcome | None = None
        value: Any = None
        pending: StopRun | PromptTooLong | None = None
        try:
            while outcome is None:
                try:
                    request = gen.throw(pending) if pending is not None else gen.send(value)
                except StopIteration as done:
                    outcome = done.value if isinstance(done.value, Outcome) else Outcome(done.value)
                    break
                except StopRun as stop:
                    outcome = Outcome(None, stop.reason, stop.detail)  # type: ignore[arg-type]
                    break
                pending = None
                if run.stopping is not None:
                    # the strategy caught StopRun but asked for more: end it here
                    outcome = Outcome(None, run.stopping.reason, run.stopping.detail)  # type: ignore[arg-type]
                    break
                try:
                    value = self._execute(request, run, meter)
                except DepthLimit as refused:  # refuses that child only; the run may go on
                    pending = refused
                except PromptTooLong as long:  # the strategy may act on it (send less); else it ends the run
                    pending = long
                except StopRun as stop:
                    run.stopping = pending = stop
        except BaseException as exc:
            error = str(exc) or type(exc).__name__
            self._finish(run, Outcome(None, "error", error), error=error)
            raise
        finally:
            gen.close()
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
            self.model_for(run.role).name,
            run.steps,
            run.usage,
            seconds,
            run.events,
            run.by_model,
        )

    def _execute(self, request: Request, run: RunState, meter: BudgetMeter) -> Any:
        if isinstance(request, Generate):
            meter.admit_calls(1)
            return self._generate([request], run, meter, stream=True)[0]
        if isinstance(request, Batch):
            if not request.requests:
                return []
            meter.admit_calls(len(request.requests))
            return self._generate(request.requests, run, meter, stream=False)
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
            return self._call_tool(request, run, meter)
        if isinstance(request, Checkpoint):
            meter.check_running("the strategy's own work")
            return meter.seconds_left()
        if isinstance(request, Child):
            meter.admit_child(run.depth + 1)
            temperature = request.temperature if request.temperature is not None else run.temperature
            seed = mix_seed(run.seed, request.seed)
            role = request.role or run.role
            child = self._run(
                request.strategy, request.question, meter, run.depth + 1, run.run_id, temperature, seed, role
            )
            run.usage.add(child.usage)
            for name, used in child.usage_by_model.items():
                run.by_model.setdefault(name, Usage()).add(used)
            run.steps.extend(child.steps)
            return Outcome(child.answer, child.stop_reason, child.detail)  # type: ignore[arg-type]
        raise TypeError(f"strategy yielded an unknown request: {request!r}")

    def _call_tool(self, request: CallTool, run: RunState, meter: BudgetMeter) -> Any:
        """Run one tool call. Tool calls are steps, but only model calls count against max_steps."""
        meter.admit_tool()
        tool = request.tool
        index = self._take_index()
        self._emit(run, StepStarted(run.run_id, self._next_seq(), time.time(), index, request.kind, run.depth))
        replayed = self.replay.tool_call(index, tool.name, request.arguments) if self.replay is not None else None
        result = replayed if replayed is not None else self._invoke(request, meter)
        if not (is_clean(result.output) and is_clean(result.error or "")):  # a tool's output is text from outside
            result = replace(result, output=clean(result.output), error=clean(result.error or "") or result.error)
        if (arguments := clean_tree(request.arguments)) is not request.arguments:
            request = replace(request, arguments=arguments)
        data = {"tool": tool.name, "arguments": request.arguments, "ok": result.ok}
        step = Step(index, request.kind, result.observation, run.run_id, run.depth, seconds=result.seconds, data=data)
        run.steps.append(step)
        self._emit(
            run,
            ToolCalled(
                run.run_id,
                self._next_seq(),
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

    def _invoke(self, request: CallTool, meter: BudgetMeter) -> ToolResult:
        """Call the tool within its own deadline and the run's time left (see :mod:`ponder.deadline`)."""
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

    def _generate(
        self, requests: Sequence[Generate], run: RunState, meter: BudgetMeter, stream: bool
    ) -> list[Completion]:
        roles = [r.role or run.role for r in requests]
        requests = [r if (m := clean_messages(r.messages)) is r.messages else replace(r, messages=m) for r in requests]
        if self._history:  # the conversation reaches every call but recursive sub-calls on a slice
            requests = [
                r if role == "sub" else replace(r, messages=with_history(r.messages, self._history))
                for r, role in zip(requests, roles, strict=True)
            ]
        models = [self.model_for(role) for role in roles]
        options = [
            call_options(r, self.options, run.temperature, run.seed, meter, m)
            for r, m in zip(requests, models, strict=True)
        ]
        meter.take_steps(len(requests))
        indices = []
        for request in requests:
            index = self._take_index()
            indices.append(index)
            started = StepStarted(
                run.run_id, self._next_seq(), time.time(), index, request.kind, run.depth, len(requests)
            )
            self._emit(run, started)
        # recorded results (resume) are matched by step, before any call is made
        replayed = [
            self.replay.model_call(index, r.messages, o, r.kind) if self.replay is not None else None
            for index, r, o in zip(indices, requests, options, strict=True)
        ]
        keys, cached, followers = lookup(self._cache, requests, models, options, replayed)
        done: dict[int, Completion] = {}
        steps: dict[int, Step] = {}
        errors: list[BaseException] = []

        failed: dict[int, Exception] = {}

        def record(i: int, outcome: Timed | Exception) -> None:
            """Record call ``i`` as soon as it completes: durable before the strategy sees it. A failed
            call is recorded once the batch is known to go on without it (see below)."""
            if isinstance(outcome, Exception):
                failed[i] = outcome
                errors.append(outcome)
                return
            req, name = requests[i], models[i].name
            data = dict(req.data)
            if i in failed:
                data["error"] = str(failed[i]) or type(failed[i]).__name__
            if i in cached:
                data["cached"] = True
            completion, seconds = outcome
            key = keys[i]
            if key is not None and i not in cached and completion.finish_reason != "error" and self._cache:
                self._cache.put(key, name, completion)
            usage = completion.usage
            meter.count(usage)
            run.usage.add(usage)
            run.by_model.setdefault(name, Usage()).add(usage)
            steps[i] = Step(
                indices[i], req.kind, completion.text, run.run_id, run.depth, usage, seconds,
                completion.finish_reason, data=data, model=name,
            )  # fmt: skip
            self._emit(
                run,
                ModelCalled(
                    run.run_id, self._next_seq(), time.time(), indices[i], req.kind, req.messages, options[i],
                    completion.text, completion.finish_reason, usage, seconds, data, name, roles[i],
                    batch=len(requests), position=i,
                ),
            )  # fmt: skip
            done[i] = completion

        on_text = self.on_text if stream else None
        try:
            complete_all(
                models,
                requests,
                options,
                replayed,
                indices,
                record,
                on_text=on_text,
                max_concurrency=self.max_concurrency,
                meter=meter,
                skip=set(followers),
            )
        except StopRun:  # the time ran out mid-batch: the calls that finished stay in the result
            run.steps.extend(steps[i] for i in sorted(steps))
            raise
        for i, leader in sorted(followers.items()):  # the same call earlier in this batch: its result
            if leader in done:
                cached.add(i)
                record(i, (as_cached(done[leader]), 0.0))
            else:
                record(i, failed[leader])
        if errors and (len(requests) == 1 or len(errors) == len(requests)):
            run.steps.extend(steps[i] for i in sorted(steps))
            raise errors[0]  # a call that failed alone, or a whole batch: a clear stop (resume retries it)
        for i in sorted(failed):  # the others go on: the failure is this element's result, recorded as such
            why = str(failed[i]) or type(failed[i]).__name__
            record(i, (Completion("", "error", Usage(), models[i].name, error=why), 0.0))
        run.steps.extend(steps[i] for i in range(len(requests)))  # the steps stay in request order
        completions = [done[i] for i in range(len(requests))]
        return completions
