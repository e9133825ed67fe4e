"""``Sandbox``: a persistent Python REPL for model-written code, isolated by bubblewrap.

    >>> with Sandbox(SandboxConfig(timeout=5)) as sb:   # doctest: +SKIP
    ...     sb.run("x = 21").ok, sb.run("print(x * 2)").stdout
    (True, '42\\n')

One worker process per sandbox; variables survive between calls until a call has to be
killed (then the worker restarts and the result says the variables are lost). What was
given as the sandbox's *setup* (``run(code, setup=True)``, ``set_variable(..., setup=True)``)
is run again in every worker that replaces a lost one, so a REPL keeps its functions and
data and loses only what later code defined; :meth:`Sandbox.snapshot` and
:meth:`Sandbox.restore` carry the values themselves to a later worker. Problems
in the *code* (exceptions, timeouts, limits) come back in the :class:`ExecResult`;
problems the *user* must fix (isolation required but unavailable, closed sandbox, bad
arguments) raise :class:`~ponder.errors.PonderError` subclasses.
"""

from __future__ import annotations

import base64
import keyword
import math
import os
import shutil
import threading
import time
import warnings
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from types import TracebackType
from typing import Any, Literal

from ..errors import ConfigError, SandboxUnavailableError
from .bwrap import find_bwrap
from .config import ALLOW_ROOT_ENV, REQUIRE_ENV, SandboxConfig
from .exchange import HostHandler, converse
from .fallback import IsolationWarning, fallback_message, fallback_workdir
from .process import StartError, WorkerProcess, bwrap_plan, fallback_plan
from .protocol import encode
from .result import ExecResult, Failure, Snapshot, failed, result_of
from .setup import Setup

KILL_GRACE = 1.0  # seconds a timed-out call gets to stop by itself before the worker is killed
_LOST = ("the worker was killed and restarted", ", so all variables are lost")
_FRESH = ("this call runs in a fresh worker", " and earlier variables are lost")
_REPLACED = ("the worker was replaced", "")
#: the most bytes of pickled values one snapshot keeps (the frame limit is 64 MiB, base64 adds a third)
SNAPSHOT_BYTES = 32 * 1024 * 1024
_STRAYS = (
    "note: {n} thread(s) the code started were still running at the end of the call and could not be "
    "stopped; the worker was replaced so nothing runs between calls, and all variables are lost "
    "(join your threads, or use `with ThreadPoolExecutor() as pool:`)\n"
)


class Sandbox:
    """A persistent, isolated Python worker. Use as a context manager, or call ``start``/``close``."""

    def __init__(self, config: SandboxConfig | None = None, *, handler: HostHandler | None = None) -> None:
        if config is not None and not isinstance(config, SandboxConfig):
            raise ConfigError(f"Sandbox config must be a SandboxConfig, got {type(config).__name__}")
        if handler is not None and not callable(handler):
            raise ConfigError("Sandbox handler must be callable(name, payload)")
        self.config = config or SandboxConfig()
        self._handler = handler
        self._worker: WorkerProcess | None = None
        self._mode: Literal["bwrap", "fallback"] | None = None
        self._workdir: tuple[str, dict[str, str]] | None = None
        self._closed = False
        self._lock = threading.RLock()
        self._busy = False
        self._ids = 0
        self._notice = ""  # told to the next call: its worker is not the one the variables lived in
        self._cpu_used = 0.0  # CPU seconds the current worker has used, as it last reported
        self._warned: set[str] = set()
        self._kill_worker: weakref.finalize[Any, Any] | None = None  # kills the worker if we are collected
        self._remove_workdir: weakref.finalize[Any, Any] | None = None
        self._setup = Setup()  # run again in each new worker
        self._names: list[str] = []  # the REPL's variables, as the worker last listed them

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def isolated(self) -> bool:
        """True when the worker runs under bubblewrap (known once the sandbox has started)."""
        return self._mode == "bwrap"

    @property
    def hardening(self) -> dict[str, bool]:
        """What holds for the current worker: ``seccomp`` (the syscall filter) and ``cgroup`` (a bound on
        the memory of the whole sandbox; without it memory is limited per process only)."""
        worker = self._worker
        if worker is None or not worker.isolated:
            return {"seccomp": False, "cgroup": False}
        return {"seccomp": not any("seccomp" in gap for gap in worker.gaps), "cgroup": worker.cgroup is not None}

    def start(self) -> Sandbox:
        with self._guard():
            self._ensure_worker()
        return self

    def restart(self) -> None:
        """Replace the worker with a fresh one (all variables are lost)."""
        with self._guard():
            self._discard()
            self._ensure_worker()

    def close(self) -> None:
        """Kill the worker and remove its files; idempotent. A call still under way on another thread (one
        the engine abandoned at its deadline) is aborted rather than waited for."""
        self.abort()
        with self._lock:
            self._closed = True
            self._discard()
            if self._remove_workdir is not None:
                self._remove_workdir()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- calls ----------------------------------------------------------------------------------

    def run(self, code: str, *, timeout: float | None = None, setup: bool = False) -> ExecResult:
        """Run ``code`` in the REPL; like the interactive interpreter, a final expression's value is printed.

        ``setup=True``: the code is part of the sandbox's setup (it defines what the code that follows
        relies on) and runs again, in order with the rest of the setup, in every worker that replaces a
        lost one. The same setup code given twice is kept once."""
        if not isinstance(code, str):
            raise ConfigError(f"Sandbox.run() takes the code as a str, got {type(code).__name__}")
        limit = self._timeout(timeout)
        with self._guard():
            if self._worker is not None and self._cpu_used + self.config.cpu_seconds > self.config.cpu_lifetime:
                lost = self._lost(_FRESH)
                self._discard()  # its hard CPU limit would cut this call short: a fresh worker instead
                self._notice = (
                    f"note: the sandbox worker used its lifetime CPU allowance ({self.config.cpu_lifetime} s); {lost}\n"
                )
            worker = self._ensure_worker()
            notice, self._notice = self._notice, ""
            before = set(self._names)
            result = self._exec(worker, code, limit)
            if setup:
                self._setup.add_code(code, set(self._names) - before)
            return replace(result, stderr=notice + result.stderr) if notice else result

    def _exec(self, worker: WorkerProcess, code: str, limit: float) -> ExecResult:
        request_id = self._next_id()
        frame = encode({"op": "exec", "id": request_id, "code": code, "timeout": limit})
        started = time.perf_counter()
        outcome = self._exchange(worker, frame, request_id, limit + KILL_GRACE)
        seconds = time.perf_counter() - started
        if isinstance(outcome, Failure):
            lost = self._lost(_LOST)
            self._discard()
            return failed(outcome, limit=limit, seconds=seconds, isolated=self.isolated, lost=lost)
        result = result_of(
            outcome, limit=limit, seconds=seconds, isolated=self.isolated, cap=self.config.max_output + 200
        )
        self._listed(outcome)
        used = outcome.get("cpu_used")
        self._cpu_used = float(used) if isinstance(used, int | float) else self.config.cpu_lifetime
        strays = outcome.get("strays")
        if isinstance(strays, int) and strays > 0:
            self._discard()  # nothing may run between calls: see worker_guard._stop_strays
            stderr = result.stderr + _STRAYS.format(n=strays)
            if self._setup:
                stderr += f"note: {self._lost(_REPLACED)}\n"
            result = replace(result, stderr=stderr, restarted=True)
        return result

    def snapshot(self, *, timeout: float | None = None, limit: int = SNAPSHOT_BYTES) -> Snapshot:
        """The REPL's variables, pickled inside the worker (setup variables and modules left out), for
        :meth:`restore` in a later worker. A value that cannot be pickled, or would pass ``limit`` bytes, is
        named in ``skipped``; a snapshot that ran out of time has an ``error`` and no data."""
        limit_s = self._timeout(timeout)
        with self._guard():
            worker = self._ensure_worker()
            request_id = self._next_id()
            skip = sorted(self._setup.names)
            frame = encode({"op": "save", "id": request_id, "skip": skip, "timeout": limit_s, "limit": int(limit)})
            outcome = self._exchange(worker, frame, request_id, limit_s + KILL_GRACE + 4 * limit / 5e6)
            if isinstance(outcome, Failure):
                self._discard()
                return Snapshot(b"", (), (), f"the worker was lost while taking a snapshot ({outcome.kind})")
            data = outcome.get("data")
            try:
                blob = base64.b64decode(data if isinstance(data, str) else "", validate=True)
            except ValueError:
                blob = b""
            return Snapshot.of(outcome, blob)

    def restore(self, snapshot: bytes, *, timeout: float | None = None) -> Snapshot:
        """Bind the values of a :meth:`snapshot` (``data``) in this worker; what was ``kept`` and ``skipped``."""
        limit_s = self._timeout(timeout)
        with self._guard():
            worker = self._ensure_worker()
            request_id = self._next_id()
            frame = encode(
                {"op": "load", "id": request_id, "data": base64.b64encode(snapshot).decode("ascii"), "timeout": limit_s}
            )
            outcome = self._exchange(worker, frame, request_id, limit_s + KILL_GRACE + len(frame) / 5e6)
            if isinstance(outcome, Failure):
                self._discard()
                return Snapshot(b"", (), (), f"the worker was lost while restoring a snapshot ({outcome.kind})")
            self._listed(outcome)
            return Snapshot.of(outcome)

    def abort(self) -> None:
        """From another thread: end the call under way at once (the worker is killed, variables are lost;
        the call returns a result saying the worker died). Does nothing between calls."""
        worker = self._worker
        if worker is not None and self._busy:
            worker.terminate()

    def set_variable(self, name: str, value: Any, *, setup: bool = False) -> None:
        """Bind ``name`` in the REPL namespace to ``value`` (str, number, bool, None, list or dict: JSON).

        ``setup=True``: the variable is part of the sandbox's setup, bound again in every worker that
        replaces a lost one (see :meth:`run`)."""
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise ConfigError(f"set_variable() needs a Python identifier as the name, got {name!r}")
        with self._guard():
            self._set(self._ensure_worker(), name, value)
            if setup:
                self._setup.add_variable(name, value)
            elif name not in self._names:
                self._names.append(name)

    def _set(self, worker: WorkerProcess, name: str, value: Any) -> None:
        request_id = self._next_id()
        try:
            frame = encode({"op": "set", "id": request_id, "name": name, "value": value})
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"set_variable({name!r}): the value is not JSON-serialisable ({exc})") from exc
        limit = self.config.timeout + len(frame) / 5e6  # leave time to move and parse big values
        outcome = self._exchange(worker, frame, request_id, limit + KILL_GRACE)
        if isinstance(outcome, Failure):
            self._discard()
            raise SandboxUnavailableError(
                f"could not set variable {name!r} in the sandbox ({outcome.kind}: {outcome.detail or 'no detail'}); "
                f"{''.join(_LOST)}"
            )

    # -- internals ------------------------------------------------------------------------------

    @contextmanager
    def _guard(self) -> Iterator[None]:
        with self._lock:
            if self._busy:
                raise SandboxUnavailableError("the sandbox is busy: a host_call handler cannot use its own sandbox")
            self._busy = True
            try:
                yield
            finally:
                self._busy = False

    def _timeout(self, timeout: float | None) -> float:
        if timeout is None:
            return self.config.timeout
        if not isinstance(timeout, int | float) or not math.isfinite(timeout) or timeout <= 0:
            raise ConfigError(f"timeout must be a positive number of seconds, got {timeout!r}")
        return float(timeout)

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _ensure_worker(self) -> WorkerProcess:
        if self._closed:
            raise SandboxUnavailableError("the sandbox is closed")
        if self._worker is not None and self._worker.alive():
            return self._worker
        if self._worker is not None:  # it exited between calls (e.g. a thread the code left behind)
            self._notice = f"note: the sandbox worker had exited ({self._worker.exit_note()}); {self._lost(_FRESH)}\n"
        self._discard()
        worker = self._new_worker()
        self._names = []
        if self._setup:
            self._run_setup(worker)
        return worker

    def _run_setup(self, worker: WorkerProcess) -> None:
        """Give a new worker the sandbox's setup, in order; SandboxUnavailableError if it does not take."""
        for kind, key, value in self._setup.steps():
            if kind == "set":
                self._set(worker, key, value)
                continue
            result = self._exec(worker, key, self.config.timeout)
            if not result.ok or self._worker is not worker:
                self._discard()
                raise SandboxUnavailableError(
                    f"the sandbox's setup failed in a new worker ({result.error or 'the worker was lost'})"
                )
        self._names = sorted(set(self._names) | self._setup.names)

    def _lost(self, what: tuple[str, str]) -> str:
        return self._setup.lost(what, self._names)

    def _listed(self, outcome: dict[str, Any]) -> None:
        names = outcome.get("names")
        if isinstance(names, list):
            self._names = [n for n in names if isinstance(n, str)]

    def _new_worker(self) -> WorkerProcess:
        if self._mode != "fallback":
            worker, reason = self._start_isolated()
            if worker is not None:
                return worker
            if self._mode == "bwrap":  # it worked before: never degrade silently
                raise SandboxUnavailableError(f"cannot restart the isolated sandbox worker: {reason}")
            if self.config.require_isolation:
                raise SandboxUnavailableError(f"sandbox isolation is required but unavailable: {reason}")
            if os.geteuid() == 0 and not self.config.allow_unisolated_root:
                raise SandboxUnavailableError(
                    f"sandbox isolation is unavailable ({reason}) and ponder runs as root: model-written code "
                    "would run as root without isolation, so it is refused; install bubblewrap, run ponder as "
                    f"another user, or allow it with {ALLOW_ROOT_ENV}=1 (SandboxConfig(allow_unisolated_root=True))"
                )
            warnings.warn(fallback_message(reason), IsolationWarning, stacklevel=3)
        if self._workdir is None:
            self._workdir = fallback_workdir()
            self._remove_workdir = weakref.finalize(self, shutil.rmtree, self._workdir[0], True)
        workdir, env = self._workdir
        try:
            return self._launch(WorkerProcess(fallback_plan(self.config, workdir, env)), "fallback")
        except StartError as exc:
            raise SandboxUnavailableError(f"cannot start the sandbox worker: {exc}") from exc

    def _start_isolated(self) -> tuple[WorkerProcess | None, str]:
        bwrap = find_bwrap(self.config.bwrap_path)
        if bwrap is None:
            where = self.config.bwrap_path
            return None, "bwrap not found on PATH" if where is None else f"{where} is not an executable file"
        try:
            worker = self._launch(WorkerProcess(bwrap_plan(bwrap, self.config)), "bwrap")
        except StartError as exc:
            return None, f"bwrap failed to start: {exc}"
        for gap in worker.gaps:
            if gap not in self._warned:  # once per sandbox: a hardening step that is not available here
                self._warned.add(gap)
                warnings.warn(f"ponder sandbox: {gap}", IsolationWarning, stacklevel=4)
        return worker, ""

    def _launch(self, worker: WorkerProcess, mode: Literal["bwrap", "fallback"]) -> WorkerProcess:
        finalizer = weakref.finalize(self, worker.kill)
        try:
            worker.wait_ready()
        except StartError:
            finalizer.detach()
            raise
        self._worker, self._mode, self._kill_worker = worker, mode, finalizer
        self._cpu_used = 0.0
        return worker

    def _discard(self) -> None:
        """Kill the current worker, if any (its variables go with it)."""
        finalizer, self._kill_worker, self._worker = self._kill_worker, None, None
        if finalizer is not None:
            finalizer()

    def _exchange(
        self, worker: WorkerProcess, frame: bytes, request_id: int, budget: float
    ) -> dict[str, Any] | Failure:
        """Send one request and serve host calls until its result arrives or ``budget`` seconds pass.

        Time spent in the host handler is not charged to the call.
        """
        try:
            return converse(worker, frame, request_id, time.monotonic() + budget, self._handler)
        except BaseException:  # e.g. KeyboardInterrupt mid-call: the worker's state is unknown, drop it
            self._discard()
            raise


def require_isolation_everywhere() -> None:
    """Make every sandbox of this process (and of the processes it starts) require isolation, and check
    now that isolation works: :class:`~ponder.errors.SandboxUnavailableError` (one clear line) if not.

    What ``ponder ask --require-isolation`` and ``ponder serve --require-isolation`` do: the tools,
    strategies and verifiers of a run create their sandboxes deep inside it, so the requirement is
    the process's default (``PONDER_REQUIRE_ISOLATION=1``), and the check happens before any run starts.
    """
    os.environ[REQUIRE_ENV] = "1"
    with Sandbox(SandboxConfig(require_isolation=True)) as probe:
        probe.start()
