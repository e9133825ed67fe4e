"""Items as Ray tasks (``ponder eval --ray ADDRESS|local``; needs ``pip install 'ponder-rlm[ray]'``).

Each task receives the run spec (as JSON) and the item, runs :func:`run_item`
in a Ray worker (which keeps its loaded models across tasks) and sends back the
results row and the run's events, so the driver's run store holds every run.
At most ``in_flight`` tasks are submitted at once (default: as many as the
cluster's CPUs run); a task whose worker or node
is lost is retried by Ray (``max_retries``), and one lost for good becomes an
error row. ``local`` starts a private Ray instance on this machine with
``in_flight`` CPUs (default: the machine's); an address joins an existing cluster (``ray start --head``),
whose nodes need ponder installed.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

from ..errors import ConfigError
from ..run_models import ModelCache, load_models
from ..spec import RunSpec
from .execute import ItemResult, Task, error_result, run_item

_WORKER_MODELS: ModelCache | None = None


def ray_task(task: Task) -> ItemResult:
    """The body of one Ray task (module level, so workers import it by name)."""
    global _WORKER_MODELS
    if _WORKER_MODELS is None:
        _WORKER_MODELS = ModelCache()
    return run_item(task, _WORKER_MODELS)


def warm_up(specs: list[str]) -> None:
    """A task that loads the models of ``specs`` (run specs as JSON) into its worker and holds the worker a
    moment, so that the warm-up tasks overlap and each starts a worker of its own."""
    global _WORKER_MODELS
    if _WORKER_MODELS is None:
        _WORKER_MODELS = ModelCache()
    for spec in specs:
        load_models(RunSpec.from_json(spec), _WORKER_MODELS)
    time.sleep(0.3)


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs ray: pip install 'ponder-rlm[ray]'") from None
    return ray


class Ray:
    """Tasks on a Ray cluster (see the module docs)."""

    def __init__(
        self,
        address: str,
        in_flight: int | None,
        specs: list[str],
        *,
        max_retries: int = 3,
        task_cpus: float = 1.0,
    ) -> None:
        ray = _ray()
        self.ray = ray
        # Ray prints its own warnings ("(raylet) WARNING: ...") on the driver's stdout; while the cluster is
        # in use they go to stderr, so that stdout holds only what ponder prints (--json: the summary)
        self._stdout = contextlib.ExitStack()
        self._stdout.enter_context(contextlib.redirect_stdout(sys.stderr))
        self._started = not ray.is_initialized()
        if self._started:
            try:
                if address == "local":
                    ray.init(
                        address="local",
                        num_cpus=max(1, int((in_flight or os.cpu_count() or 1) * task_cpus + 0.999)),
                        include_dashboard=False,
                        object_store_memory=100 * 1024 * 1024,
                        log_to_driver=False,
                    )
                else:
                    ray.init(address=address, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                self._stdout.close()
                raise ConfigError(f"cannot reach the Ray cluster at {address}: {' '.join(str(exc).split())}") from None
        #: tasks in flight: as given, else as many as the cluster's CPUs run at once
        self.in_flight = in_flight or max(1, int(ray.cluster_resources().get("CPU", 1) / task_cpus))
        self._remote = ray.remote(max_retries=max_retries, retry_exceptions=False, num_cpus=task_cpus)(ray_task)
        self._pending: dict[Any, Task] = {}
        # start the workers and load their models before the first item, so the ETA counts items only
        warm = ray.remote(num_cpus=task_cpus)(warm_up)
        try:
            ray.get([warm.remote(specs) for _ in range(self.in_flight)])
        except Exception as exc:  # e.g. an unknown model: one line, before any item
            self.close()
            raise ConfigError(f"the Ray workers cannot load the models: {_first_line(exc)}") from None

    def results(self, tasks: Iterator[Task]) -> Iterator[tuple[Task, ItemResult]]:
        ray = self.ray
        pending = self._pending

        def fill() -> None:
            while len(pending) < self.in_flight:
                task = next(tasks, None)
                if task is None:
                    return
                pending[self._remote.remote(task)] = task

        fill()
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                task = pending.pop(ref)
                try:
                    result: ItemResult = ray.get(ref)
                except Exception as exc:  # lost for good after the retries, or the task itself broke
                    result = error_result(task, f"the Ray task failed: {type(exc).__name__}: {_first_line(exc)}")
                yield task, result
            fill()

    def close(self) -> None:
        for ref in list(self._pending):
            with contextlib.suppress(Exception):  # already finished or gone
                self.ray.cancel(ref, force=True)
        self._pending.clear()
        try:
            if self._started:
                self.ray.shutdown()
        finally:
            self._stdout.close()


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(exc).__name__
