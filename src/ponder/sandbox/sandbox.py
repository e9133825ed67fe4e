"""``Sandbox``: a persistent Python REPL for model-written code, isolated by bubblewrap.

    >>> with Sandbox(SandboxConfig(timeout=5)) as sb:   # doctest: +SKIP
    ...     sb.run("x = 21").ok, sb.run("print(x * 2)").stdout
    (True, '42\\n')

One worker process per sandbox; variables survive between calls until a call has to be
killed (then the worker restarts and the result says the variables are lost). Problems
in the *code* (exceptions, timeouts, limits) come back in the :class:`ExecResult`;
problems the *user* must fix (isolation required but unavailable, closed sandbox, bad
arguments) raise :class:`~ponder.errors.PonderError` subclasses.
"""

from __future__ import annotations

import keyword
import math
import os
import shutil
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Literal

from ..errors import ConfigError, SandboxUnavailableError
from ..payload import PayloadError, check_json
from .bwrap import find_bwrap
from .config import ALLOW_ROOT_ENV, REQUIRE_ENV, SandboxConfig
from .fallback import IsolationWarning, fallback_message, fallback_workdir
from .process import StartError, WorkerProcess, bwrap_plan, fallback_plan
from .protocol import HostChannel, ProtocolError, WorkerGone, encode
from .result import ExecResult

HostHandler = Callable[[str, Any], Any]
"""Serves ``host_call(name, payload)`` from sandboxed code; returns a JSON-able value.

The payload is checked first (plain JSON, at most 32 levels deep, 100,000 values; see
:mod:`ponder.payload`); a handler raises :class:`HostCallRejected` to refuse a payload
of the wrong shape, and the code's ``host_call`` raises ``HostCallError`` with that message."""


class HostCallRejected(Exception):  # noqa: N818 - the sandboxed code sees it as HostCallError
    """Raised by a host handler: the payload is wrong; the message goes to the sandboxed code as is."""


KILL_GRACE = 1.0  # seconds a timed-out call gets to stop by itself before the worker is killed
_LOST = "the worker was killed and restarted, so all variables are lost"
_FRESH = "this call runs in a fresh worker and earlier variables are lost"
_STRAYS = (
    "note: {n} thread(s) the code started were still running at the end of the call and could not be "
    "stopped; the worker was replaced so nothing runs between calls, and all variables are lost "
    "(join your threads, or use `with ThreadPoolExecutor() as pool:`)\n"
)


@dataclass(frozen=True)
class _Failure:
    kind: Literal["timeout", "died", "protocol"]
    detail: str = ""


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

    def run(self, code: str, *, timeout: float | None = None) -> ExecResult:
        """Run ``code`` in the REPL; like the interactive interpreter, a final expression's value is printed."""
        if not isinstance(code, str):
            raise ConfigError(f"Sandbox.run() takes the code as a str, got {type(code).__name__}")
        limit = self._timeout(timeout)
        with self._guard():
            if self._worker is not None and self._cpu_used + self.config.cpu_seconds > self.config.cpu_lifetime:
                self._discard()  # its hard CPU limit would cut this call short: a fresh worker instead
                self._notice = f"note: the sandbox worker used its lifetime CPU allowance ({self.config.cpu_lifetime} s); {_FRESH}\n"
            worker = self._ensure_worker()
            notice, self._notice = self._notice, ""
            request_id = self._next_id()
            frame = encode({"op": "exec", "id": request_id, "code": code, "timeout": limit})
            started = time.perf_counter()
            outcome = self._exchange(worker, frame, request_id, limit + KILL_GRACE)
            seconds = time.perf_counter() - started
            if isinstance(outcome, _Failure):
                self._discard()
                result = self._failed(outcome, limit, seconds)
            else:
                result = self._result(outcome, limit, seconds)
                used = outcome.get("cpu_used")
                self._cpu_used = float(used) if isinstance(used, int | float) else self.config.cpu_lifetime
                strays = outcome.get("strays")
                if isinstance(strays, int) and strays > 0:
                    self._discard()  # nothing may run between calls: see worker_guard._stop_strays
                    result = replace(result, stderr=result.stderr + _STRAYS.format(n=strays))
            return replace(result, stderr=notice + result.stderr) if notice else result

    def abort(self) -> None:
        """From another thread: end the call under way at once (the worker is killed, variables are lost;
        the call returns a result saying the worker died). Does nothing between calls."""
        worker = self._worker
        if worker is not None and self._busy:
            worker.terminate()

    def set_variable(self, name: str, value: Any) -> None:
        """Bind ``name`` in the REPL namespace to ``value`` (str, number, bool, None, list or dict: JSON)."""
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise ConfigError(f"set_variable() needs a Python identifier as the name, got {name!r}")
        with self._guard():
            worker = self._ensure_worker()
            request_id = self._next_id()
            try:
                frame = encode({"op": "set", "id": request_id, "name": name, "value": value})
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"set_variable({name!r}): the value is not JSON-serialisable ({exc})") from exc
            limit = self.config.timeout + len(frame) / 5e6  # leave time to move and parse big values
            outcome = self._exchange(worker, frame, request_id, limit + KILL_GRACE)
            if isinstance(outcome, _Failure):
                self._discard()
                raise SandboxUnavailableError(
                    f"could not set variable {name!r} in the sandbox ({outcome.kind}: {outcome.detail or 'no detail'}); "
                    f"{_LOST}"
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
            self._notice = f"note: the sandbox worker had exited ({self._worker.exit_note()}); {_FRESH}\n"
        self._discard()
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
    ) -> dict[str, Any] | _Failure:
        """Send one request and serve host calls until its result arrives or ``budget`` seconds pass.

        Time spent in the host handler is not charged to the call.
        """
        deadline = time.monotonic() + budget
        channel = worker.channel
        try:
            return self._converse(worker, channel, frame, request_id, deadline)
        except BaseException:  # e.g. KeyboardInterrupt mid-call: the worker's state is unknown, drop it
            self._discard()
            raise

    def _converse(
        self, worker: WorkerProcess, channel: HostChannel, frame: bytes, request_id: int, deadline: float
    ) -> dict[str, Any] | _Failure:
        try:
            if not channel.send(frame, deadline):
                return _Failure("timeout")
            while True:
                message = channel.receive(deadline)
                if message is None:
                    return _Failure("timeout")
                op = message.get("op")
                if op == "call":
                    began = time.monotonic()
                    reply = self._serve_call(message)
                    deadline += time.monotonic() - began
                    if not channel.send(reply, deadline):
                        return _Failure("timeout")
                elif op == "result" and message.get("id") == request_id:
                    return message
                else:
                    raise ProtocolError(f"unexpected {op!r} message from the worker")
        except WorkerGone:
            return _Failure("died", worker.exit_note())
        except ProtocolError as exc:
            return _Failure("protocol", str(exc))

    def _serve_call(self, message: dict[str, Any]) -> bytes:
        name, payload = message.get("name"), message.get("payload")
        if not isinstance(name, str) or not name or len(name) > 100:
            return encode({"op": "reply", "error": "host_call() name must be a short non-empty string"})
        if self._handler is None:
            return encode({"op": "reply", "error": f"no host handler is installed (host_call({name!r}))"})
        try:
            check_json(payload, what=f"the payload of host_call({name!r})")
            result = self._handler(name, payload)
        except (HostCallRejected, PayloadError) as exc:
            return encode({"op": "reply", "error": str(exc)})
        except Exception as exc:  # the handler's failure is the sandboxed code's problem: report it there
            return encode({"op": "reply", "error": f"{type(exc).__name__}: {exc}"})
        try:
            return encode({"op": "reply", "result": result})
        except (TypeError, ValueError):
            return encode({"op": "reply", "error": f"the host handler for {name!r} returned a non-JSON value"})

    def _result(self, message: dict[str, Any], limit: float, seconds: float) -> ExecResult:
        cap = self.config.max_output + 200  # the worker cuts; this only bounds a misbehaving one
        stdout, stderr = _text(message.get("stdout"), cap), _text(message.get("stderr"), cap)
        error = message.get("error")
        error = _text(error, 1000) if error is not None else None
        interrupted = message.get("interrupted")
        timed_out = False
        if interrupted == "wall-clock":
            timed_out = True
            error = f"TimeoutError: the call exceeded the {limit:g} s wall-clock limit and was interrupted (variables are kept)"
        elif interrupted is not None:
            error = f"CPUTimeLimitExceeded: {_text(interrupted, 300)}; interrupted (variables are kept)"
        return ExecResult(
            stdout=stdout,
            stderr=stderr,
            error=error,
            timed_out=timed_out,
            isolated=self.isolated,
            seconds=seconds,
            truncated=bool(message.get("truncated")),
        )

    def _failed(self, failure: _Failure, limit: float, seconds: float) -> ExecResult:
        if failure.kind == "timeout":
            error = f"TimeoutError: the call exceeded the {limit:g} s wall-clock limit and did not stop; {_LOST}"
        elif failure.kind == "died":
            error = f"SandboxCrash: the worker process died ({failure.detail}); {_LOST}"
        else:
            error = f"SandboxCrash: the worker broke the protocol ({failure.detail}); {_LOST}"
        return ExecResult(
            stdout="",
            stderr=error + "\n",
            error=error,
            timed_out=failure.kind == "timeout",
            isolated=self.isolated,
            seconds=seconds,
        )


def _text(value: object, cap: int) -> str:
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return text if len(text) <= cap else text[:cap] + "\n[... cut by the host ...]\n"


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
