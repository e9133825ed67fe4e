"""Workers on this machine: threads for remote backends, processes for embedded models.

Threads share one :class:`~ponder.run_models.ModelCache` (an HTTP client per
backend). The embedded backends (``smollm2``, ``gguf:``) compute in-process, so
``--workers N`` for them starts N worker processes, each loading its own copy of
the model once, unless batched decoding is on for them (the default, see
:mod:`ponder.models.llama_batch`): then N threads share one copy, and the items'
calls join one decode batch (one forward pass per step for all of them). Both keep at most N items in flight and hand results back in the
order they finish; closing the stream (an early stop, Ctrl-C) interrupts the
runs in flight, which then leave no row.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from typing import Protocol

from ..engine.budget import Cancellation
from ..errors import RunInterruptedError
from ..run_models import ModelCache
from ..spec import RunSpec
from .execute import ItemResult, Task, error_result, run_item

#: the backends that compute in this process (a thread pool would serialise on them)
EMBEDDED = ("smollm2", "gguf:")


class Backend(Protocol):
    """Where items run: ``results`` runs the tasks and yields each with its result as it finishes."""

    def results(self, tasks: Iterator[Task]) -> Iterator[tuple[Task, ItemResult]]: ...

    def close(self) -> None: ...


def embedded(specs: list[RunSpec]) -> bool:
    """Whether any model of these specs is an embedded one."""
    return any(m.model.startswith(EMBEDDED) for spec in specs for m in spec.models.values())


class Threads:
    """``workers`` threads sharing one model cache."""

    def __init__(self, workers: int, models: ModelCache | None = None) -> None:
        self.workers = workers
        self.models = models if models is not None else ModelCache()  # an empty cache is falsy
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="ponder-eval")
        self._running: dict[Future[ItemResult], Cancellation] = {}
        self._lock = threading.Lock()

    def _submit(self, task: Task) -> Future[ItemResult]:
        cancellation = Cancellation()
        future = self._pool.submit(run_item, task, self.models, cancellation)
        with self._lock:
            self._running[future] = cancellation
        return future

    def results(self, tasks: Iterator[Task]) -> Iterator[tuple[Task, ItemResult]]:
        yield from _bounded(self._submit, tasks, self.workers, self._done)

    def _done(self, future: Future[ItemResult]) -> None:
        with self._lock:
            self._running.pop(future, None)

    def close(self) -> None:
        with self._lock:
            for cancellation in self._running.values():
                cancellation.interrupt("the evaluation stopped")
        self._pool.shutdown(wait=True, cancel_futures=True)


_PROCESS_MODELS: ModelCache | None = None


def _quiet_interrupts() -> None:
    """In a worker process: Ctrl-C is the driver's to handle (it ends the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _process_task(task: Task) -> ItemResult:
    global _PROCESS_MODELS
    if _PROCESS_MODELS is None:
        _PROCESS_MODELS = ModelCache()  # this process's own copy of each model, loaded on first use
    return run_item(task, _PROCESS_MODELS)


class Processes:
    """``workers`` processes (spawned), each with its own models."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=_quiet_interrupts
        )

    def results(self, tasks: Iterator[Task]) -> Iterator[tuple[Task, ItemResult]]:
        yield from _bounded(lambda task: self._pool.submit(_process_task, task), tasks, self.workers, None)

    def close(self) -> None:
        processes = list(getattr(self._pool, "_processes", {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:  # a run in flight in a worker is given up, not waited for
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=10)


def _bounded(
    submit: Callable[[Task], Future[ItemResult]],
    tasks: Iterator[Task],
    limit: int,
    done: Callable[[Future[ItemResult]], None] | None,
) -> Iterator[tuple[Task, ItemResult]]:
    """Keep ``limit`` tasks in flight; yield each (task, result) as it completes (a worker that died gives
    an error row for its item)."""
    pending: dict[Future[ItemResult], Task] = {}

    def fill() -> None:
        while len(pending) < limit:
            task = next(tasks, None)
            if task is None:
                return
            pending[submit(task)] = task

    fill()
    while pending:
        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            task = pending.pop(future)
            if done is not None:
                done(future)
            try:
                result = future.result()
            except RunInterruptedError:
                continue
            except Exception as exc:  # e.g. a worker process killed by the OOM killer
                result = error_result(task, f"the worker failed: {type(exc).__name__}: {exc}")
            yield task, result
        fill()


def batched(specs: list[RunSpec]) -> bool:
    """Whether every embedded model of these specs decodes batches (its spec's ``batched_decode``, else
    ``PONDER_BATCHED_DECODE``): threads then share one copy and its decode steps."""
    from ..models.batching import resolve_batched

    return all(
        resolve_batched(m.batched_decode)
        for spec in specs
        for m in spec.models.values()
        if m.model.startswith(EMBEDDED)
    )


def local_backend(workers: int, specs: list[RunSpec]) -> Threads | Processes:
    """Threads, or processes when an embedded model without batched decoding runs on more than one worker."""
    if workers > 1 and embedded(specs) and not batched(specs):
        return Processes(workers)
    return Threads(workers)
