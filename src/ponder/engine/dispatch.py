"""How the engine makes model calls: each call's options, and a batch run concurrently.

:func:`call_options` resolves what one :class:`~ponder.requests.Generate` is
sent with: the request's options (or the engine's), its stop strings and
grammar, the temperature/seed overrides of the request and of the child run it
belongs to, and ``max_tokens`` cut to the token budget left.

:func:`complete_all` makes the calls of one request or
:class:`~ponder.requests.Batch`: recorded results (resume) are served first;
the rest go to the backend: when they all go to one model with ``supports_batch``
(the embedded llama.cpp backend with batched decoding), as one
``complete_batch`` (decoded together, see :mod:`ponder.models.llama_batch`);
else concurrently (a thread each, up to a limit) when there is more than one
and the backend says it allows it, else one by one. It
hands each result to the engine as that call completes (so the engine records
it before the batch ends), and a call that raised as its exception, so one
failing call does not discard the others.

When the run has a time limit or may be cancelled, live calls run on helper
threads and the engine's thread waits for them (see :mod:`ponder.engine.deadline`):
once the limit passes, or the run is cancelled, the calls still running are
abandoned and :class:`~ponder.errors.StopRun` is raised, even if a backend is
stuck. A streaming call that is abandoned stops at its next piece of text.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace

from ..guards.text import clean
from ..models.base import BatchCompleter, Model
from ..requests import Generate
from ..types import Completion, GenerationOptions
from .budget import TEMPLATE_TOKENS, BudgetMeter
from .deadline import POLL_SECONDS, Overdue, call_with_deadline

#: called with (step index, step kind, text piece) while a single model call streams
TextObserver = Callable[[int, str, str], None]
#: a completion and the seconds it took (0 or the recorded time for a replayed one)
Timed = tuple[Completion, float]


class CallAbandoned(Exception):  # noqa: N818 - raised into a stuck call's own thread
    """Raised from the text observer of a streaming call the engine no longer waits for."""


def mix_seed(outer: int | None, inner: int | None) -> int | None:
    """The seed for a call or child: the inner one, the outer one, or both mixed when both are set."""
    if outer is None:
        return inner
    if inner is None:
        return outer
    return (outer * 1_000_003 + inner) % (2**31 - 1)


def call_options(
    request: Generate,
    base: GenerationOptions,
    run_temperature: float | None,
    run_seed: int | None,
    meter: BudgetMeter,
    model: Model,
) -> GenerationOptions:
    """The options for one call (see the module docs).

    ``max_tokens`` is what the budget meter admits (:meth:`BudgetMeter.cap`: with
    a token or dollar limit the prompt is counted first, with ``model``'s tokenizer).
    """
    options = request.options or base
    if request.stop or request.grammar is not None:
        stop = options.stop + tuple(s for s in request.stop if s not in options.stop)
        options = replace(options, stop=stop, grammar=request.grammar or options.grammar)
    if request.tool_choice is not None and request.tools and request.tool_choice != options.tool_choice:
        options = replace(options, tool_choice=request.tool_choice)
    temperature = request.temperature if request.temperature is not None else run_temperature
    seed = mix_seed(run_seed, request.seed)
    if temperature is not None and temperature != options.temperature:
        options = replace(options, temperature=temperature)
    if seed is not None and seed != options.seed:
        options = replace(options, seed=seed)
    messages = request.messages
    template = getattr(model, "template_tokens", TEMPLATE_TOKENS) * len(messages)
    capped = meter.cap(
        options.max_tokens, lambda: sum(model.count_tokens(m.content) for m in messages), model.name, template
    )
    return options if capped == options.max_tokens else replace(options, max_tokens=capped)


def complete_all(
    models: Sequence[Model],
    requests: Sequence[Generate],
    options: Sequence[GenerationOptions],
    replayed: Sequence[Timed | None],
    indices: Sequence[int],
    on_done: Callable[[int, Timed | Exception], None],
    *,
    on_text: TextObserver | None,
    max_parallel_calls: int,
    meter: BudgetMeter | None = None,
    skip: set[int] | None = None,
) -> None:
    """Make the calls of ``requests`` (each on its model in ``models``); ``on_done(i, result)`` is called
    on this thread as each one completes, replayed ones first, with the completion or the exception
    that call raised (after the backend's retries). ``on_text`` streams (only given for a single call).
    With a ``meter`` that is :attr:`~ponder.engine.budget.BudgetMeter.watched`, calls are bounded by the run's
    time limit and cancellation (see the module docs). The calls in ``skip`` are not made (the caller
    serves them)."""
    watch = meter if meter is not None and meter.watched else None
    abandoned = threading.Event()

    def call(i: int) -> Timed:
        req = requests[i]
        piece_observer = None
        if on_text is not None:
            observer, index, kind = on_text, indices[i], req.kind

            def piece_observer(piece: str) -> None:
                if abandoned.is_set():
                    raise CallAbandoned("the run stopped waiting for this call")
                observer(index, kind, clean(piece))

        model = models[i]
        schemas = [t.to_openai() for t in req.tools] if req.tools and model.supports_tools else None
        t0 = time.perf_counter()
        completion = model.complete(req.messages, options[i], piece_observer, schemas)
        return completion.cleaned(), time.perf_counter() - t0  # a backend's text is text from outside

    live = []
    for i, recorded in enumerate(replayed):
        if skip and i in skip:
            continue
        if recorded is None:
            live.append(i)
            continue
        if on_text is not None and recorded[0].text:
            on_text(indices[i], requests[i].kind, recorded[0].text)
        on_done(i, recorded)
    if len(live) > 1 and _batching(models, live):
        _batched(models[live[0]], live, requests, options, on_done, watch)  # type: ignore[arg-type]
        return
    if len(live) > 1 and all(models[i].supports_concurrency for i in live) and max_parallel_calls > 1:
        if watch is not None:
            _concurrent_watched(call, live, on_done, max_parallel_calls, watch, abandoned)
            return
        with ThreadPoolExecutor(max_workers=min(max_parallel_calls, len(live))) as pool:
            futures = {pool.submit(call, i): i for i in live}
            for future in as_completed(futures):
                error = future.exception()
                on_done(futures[future], future.result() if error is None else _isolated(error))
        return
    for i in live:
        if watch is not None:
            on_done(i, _watched(call, i, watch, abandoned))
            continue
        try:
            outcome: Timed | Exception = call(i)
        except Exception as exc:
            outcome = exc
        on_done(i, outcome)


def _batching(models: Sequence[Model], live: list[int]) -> bool:
    """Whether the live calls all go to one model that makes a batch together (``supports_batch``)."""
    first = models[live[0]]
    return bool(getattr(first, "supports_batch", False)) and all(models[i] is first for i in live)


def _batched(
    model: BatchCompleter,
    live: list[int],
    requests: Sequence[Generate],
    options: Sequence[GenerationOptions],
    on_done: Callable[[int, Timed | Exception], None],
    meter: BudgetMeter | None,
) -> None:
    """The live calls as one batch of the model (batched decoding); each handed over as it ends. With a
    watched meter, the run's time limit and cancellation stop the calls still decoding."""
    t0 = time.perf_counter()

    def done(k: int, outcome: Completion | Exception) -> None:
        if isinstance(outcome, Completion):
            on_done(live[k], (outcome.cleaned(), time.perf_counter() - t0))
        else:
            on_done(live[k], outcome)

    poll = None
    if meter is not None:
        watch = meter

        def poll() -> None:
            left = watch.seconds_left()
            if left is not None and left <= 0:
                raise watch.time_stop("a batch of model calls")
            watch.check_running("a batch of model calls")

    model.complete_batch([(requests[i].messages, options[i]) for i in live], done, poll)


def _watched(call: Callable[[int], Timed], i: int, meter: BudgetMeter, abandoned: threading.Event) -> Timed | Exception:
    """Call ``i`` on a helper thread: its result or its exception, within the run's time left;
    what the meter raises (StopRun: the call is abandoned) otherwise."""

    def guarded() -> Timed | Exception:
        try:
            return call(i)
        except Exception as exc:  # the call's own failure is its outcome
            return exc

    try:
        return call_with_deadline(
            guarded, meter.seconds_left(), poll=lambda: meter.check_running("a model call"), name="ponder-model-call"
        )
    except Overdue:
        abandoned.set()
        raise meter.time_stop("a model call") from None
    except BaseException:
        abandoned.set()
        raise


def _concurrent_watched(
    call: Callable[[int], Timed],
    live: list[int],
    on_done: Callable[[int, Timed | Exception], None],
    max_parallel_calls: int,
    meter: BudgetMeter,
    abandoned: threading.Event,
) -> None:
    """A batch on daemon worker threads, results handed over as they complete, until the run must stop.

    Plain daemon threads, not an executor: a stuck call must not keep the process from exiting."""
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for i in live:
        todo.put(i)
    results: queue.SimpleQueue[tuple[int, Timed | BaseException]] = queue.SimpleQueue()

    def worker() -> None:
        while not abandoned.is_set():
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            try:
                outcome: Timed | BaseException = call(i)
            except BaseException as exc:  # handed to the engine's thread
                outcome = exc
            results.put((i, outcome))

    for n in range(min(max_parallel_calls, len(live))):
        threading.Thread(target=worker, name=f"ponder-model-call-{n}", daemon=True).start()
    try:
        for _ in live:
            while True:
                left = meter.seconds_left()
                if left is not None and left <= 0:
                    raise meter.time_stop("a batch of model calls")
                try:
                    i, outcome = results.get(timeout=POLL_SECONDS if left is None else min(POLL_SECONDS, left))
                    break
                except queue.Empty:
                    meter.check_running("a batch of model calls")
            on_done(i, outcome if isinstance(outcome, tuple) else _isolated(outcome))
    except BaseException:
        abandoned.set()  # the calls still running go on unwaited for; no new ones start
        raise


def _isolated(error: BaseException) -> Exception:
    """A call's failure as a value for its batch element; anything but an ``Exception`` (an interrupt) is raised."""
    if isinstance(error, Exception):
        return error
    raise error
