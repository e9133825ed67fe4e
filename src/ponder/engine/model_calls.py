"""The engine's model calls: a request, or a batch, from the messages to the recorded completions.

For each call: the conversation is added (not to recursive sub-calls on a slice), the role's model and
the call's options are chosen, the budget takes the steps, a ``step_started`` event goes out; recorded
results (a resume) are matched by step before anything is called; identical deterministic calls are
answered once (:mod:`ponder.engine.call_cache`); the live ones go out through :func:`ponder.engine.dispatch.complete_all`,
and each completion is recorded (``model_call``, usage on the run and per model) as soon as it comes
back, so it is durable before the strategy sees it. A call of a batch that fails is that element's
error result while the others go on; a call that fails alone, or a whole batch, raises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..errors import StopRun
from ..events import ModelCalled, StepStarted
from ..models.base import Model
from ..requests import Generate
from ..result import Step
from ..types import Completion, Usage, clean_messages
from .call_cache import as_cached, lookup
from .conversation import with_history
from .dispatch import Timed, call_options, complete_all
from .run_state import RunState
from .scope import Scope


def generate(
    scope: Scope,
    requests: Sequence[Generate],
    run: RunState,
    stream: bool,
    *,
    runs: Sequence[RunState] | None = None,
    failures: dict[int, Exception] | None = None,
) -> list[Completion]:
    """Make the calls of ``requests`` (of ``run``, or of ``runs[i]`` each: a group of child runs).

    With ``failures`` given, no call's failure raises: a failed call is an error completion and
    its exception is put in ``failures`` (the group decides); otherwise a call that failed alone,
    or a whole batch failing, raises its error.
    """
    of = list(runs) if runs is not None else [run] * len(requests)
    roles = [r.role or of[i].role for i, r in enumerate(requests)]
    requests = [r if (m := clean_messages(r.messages)) is r.messages else replace(r, messages=m) for r in requests]
    if scope.history:  # the conversation reaches every call but recursive sub-calls on a slice
        requests = [
            r if role == "sub" else replace(r, messages=with_history(r.messages, scope.history))
            for r, role in zip(requests, roles, strict=True)
        ]
    models = [scope.model_of(r, of[i]) for i, r in enumerate(requests)]
    try:
        return _generate(scope, requests, stream, of, roles, models, failures)
    finally:
        scope.meter.release()  # the dollars held back for these calls: counted now, or never spent


def _generate(
    scope: Scope,
    requests: Sequence[Generate],
    stream: bool,
    of: list[RunState],
    roles: list[str],
    models: list[Model],
    failures: dict[int, Exception] | None,
) -> list[Completion]:
    meter, recorder, replay = scope.meter, scope.recorder, scope.replay
    options = [
        call_options(r, scope.options, of[i].temperature, of[i].seed, meter, models[i]) for i, r in enumerate(requests)
    ]
    meter.take_steps(len(requests))
    indices = []
    for i, request in enumerate(requests):
        index = recorder.take_index()
        indices.append(index)
        recorder.emit(of[i], StepStarted, index, request.kind, of[i].depth, len(requests))
    # recorded results (resume) are matched by step, before any call is made
    replayed = [
        replay.model_call(index, r.messages, o, r.kind) if replay is not None else None
        for index, r, o in zip(indices, requests, options, strict=True)
    ]
    keys, cached, followers = lookup(scope.cache, requests, models, options, replayed)
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
        req, name, owner = requests[i], models[i].name, of[i]
        data = dict(req.data)
        if i in failed:
            data["error"] = str(failed[i]) or type(failed[i]).__name__
        if i in cached:
            data["cached"] = True
        completion, seconds = outcome
        key = keys[i]
        if key is not None and i not in cached and completion.finish_reason != "error" and scope.cache:
            scope.cache.put(key, name, completion)
        usage = meter.count(completion.usage, name)  # with its cost: the server's, else the model's price
        owner.usage.add(usage)
        owner.by_model.setdefault(name, Usage()).add(usage)
        steps[i] = Step(
            indices[i], req.kind, completion.text, owner.run_id, owner.depth, usage, seconds,
            completion.finish_reason, data=data, model=name,
        )  # fmt: skip
        recorder.emit(
            owner, ModelCalled, indices[i], req.kind, req.messages, options[i], completion.text,
            completion.finish_reason, usage, seconds, data, name, roles[i], batch=len(requests), position=i,
        )  # fmt: skip
        done[i] = completion if usage is completion.usage else replace(completion, usage=usage)

    on_text = scope.on_text if stream else None
    try:
        complete_all(
            models,
            requests,
            options,
            replayed,
            indices,
            record,
            on_text=on_text,
            max_parallel_calls=scope.max_parallel_calls,
            meter=meter,
            skip=set(followers),
        )
    except StopRun:  # the time ran out mid-batch: the calls that finished stay in the result
        for i in sorted(steps):
            of[i].steps.append(steps[i])
        raise
    for i, leader in sorted(followers.items()):  # the same call earlier in this batch: its result
        if leader in done:
            cached.add(i)
            record(i, (as_cached(done[leader]), 0.0))
        else:
            record(i, failed[leader])
    if failures is None and errors and (len(requests) == 1 or len(errors) == len(requests)):
        for i in sorted(steps):
            of[i].steps.append(steps[i])
        raise errors[0]  # a call that failed alone, or a whole batch: a clear stop (resume retries it)
    for i in sorted(failed):  # the others go on: the failure is this element's result, recorded as such
        why = str(failed[i]) or type(failed[i]).__name__
        record(i, (Completion("", "error", Usage(), models[i].name, error=why), 0.0))
    if failures is not None:
        failures.update(failed)
    for i in range(len(requests)):  # the steps stay in request order
        of[i].steps.append(steps[i])
    return [done[i] for i in range(len(requests))]
