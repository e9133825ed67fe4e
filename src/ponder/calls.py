"""How the engine makes model calls: each call's options, and a batch run concurrently.

:func:`call_options` resolves what one :class:`~ponder.requests.Generate` is
sent with: the request's options (or the engine's), its stop strings and
grammar, the temperature/seed overrides of the request and of the child run it
belongs to, and ``max_tokens`` cut to the token budget left.

:func:`complete_all` makes the calls of one request or
:class:`~ponder.requests.Batch`: recorded results (resume) are served first;
the rest go to the backend, concurrently (a thread each, up to a limit) when
there is more than one and the backend says it allows it, else one by one. It
hands each result to the engine as that call completes (so the engine records
it before the batch ends), and a call that raised as its exception, so one
failing call does not discard the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace

from .budget import BudgetMeter
from .models.base import Model
from .requests import Generate
from .types import Completion, GenerationOptions

#: called with (step index, step kind, text piece) while a single model call streams
TextObserver = Callable[[int, str, str], None]
#: a completion and the seconds it took (0 or the recorded time for a replayed one)
Timed = tuple[Completion, float]


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
    a token limit the prompt is counted first, with ``model``'s tokenizer).
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
    capped = meter.cap(options.max_tokens, lambda: sum(model.count_tokens(m.content) for m in request.messages))
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
    max_concurrency: int,
    skip: set[int] | None = None,
) -> None:
    """Make the calls of ``requests`` (each on its model in ``models``); ``on_done(i, result)`` is called
    on this thread as each one completes, replayed ones first, with the completion or the exception
    that call raised (after the backend's retries). ``on_text`` streams (only given for a single call).
    The calls in ``skip`` are not made (the caller serves them)."""

    def call(i: int) -> Timed:
        req = requests[i]
        piece_observer = None
        if on_text is not None:
            observer, index, kind = on_text, indices[i], req.kind

            def piece_observer(piece: str) -> None:
                observer(index, kind, piece)

        model = models[i]
        schemas = [t.to_openai() for t in req.tools] if req.tools and model.supports_tools else None
        t0 = time.perf_counter()
        completion = model.complete(req.messages, options[i], piece_observer, schemas)
        return completion, time.perf_counter() - t0

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
    if len(live) > 1 and all(models[i].supports_concurrency for i in live) and max_concurrency > 1:
        with ThreadPoolExecutor(max_workers=min(max_concurrency, len(live))) as pool:
            futures = {pool.submit(call, i): i for i in live}
            for future in as_completed(futures):
                error = future.exception()
                on_done(futures[future], future.result() if error is None else _isolated(error))
        return
    for i in live:
        try:
            outcome: Timed | Exception = call(i)
        except Exception as exc:
            outcome = exc
        on_done(i, outcome)


def _isolated(error: BaseException) -> Exception:
    """A call's failure as a value for its batch element; anything but an ``Exception`` (an interrupt) is raised."""
    if isinstance(error, Exception):
        return error
    raise error
