"""What one call into the sandbox produced: ``ExecResult`` (and how a worker's reply becomes one), ``Snapshot``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class ExecResult:
    """The outcome of :meth:`Sandbox.run`.

    ``error`` is ``None`` or one line such as ``"ZeroDivisionError: division by zero"``
    (the traceback, if any, is at the end of ``stderr``). ``timed_out`` is true when the
    wall-clock limit ended the call; ``error`` then says whether the variables survived.
    ``isolated`` is true when the code ran under bubblewrap, false in the plain-subprocess
    fallback. ``truncated`` is true when stdout or stderr was cut to ``max_output``.
    ``restarted`` is true when the worker was lost with this call (it crashed, was killed,
    or left threads behind): the variables the code defined are gone.
    """

    stdout: str
    stderr: str
    error: str | None
    timed_out: bool
    isolated: bool
    seconds: float
    truncated: bool = False
    restarted: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The REPL's values, as :meth:`Sandbox.snapshot` took them (``data``: opaque bytes for
    :meth:`Sandbox.restore`), or as ``restore`` bound them: the names ``kept`` and the names
    ``skipped`` (not picklable, too large, or their class no longer defined); ``error`` when
    nothing could be taken or read."""

    data: bytes
    kept: tuple[str, ...]
    skipped: tuple[str, ...]
    error: str | None = None

    @classmethod
    def of(cls, message: dict[str, Any], data: bytes = b"") -> Snapshot:
        """From the worker's reply to a ``save`` or ``load``."""
        kept, skipped, error = message.get("kept"), message.get("skipped"), message.get("error")
        return cls(data, _names(kept), _names(skipped), None if error is None else str(error)[:1000])


def _names(value: object) -> tuple[str, ...]:
    return tuple(n for n in value if isinstance(n, str)) if isinstance(value, list) else ()


@dataclass(frozen=True)
class Failure:
    """A call that got no result: the worker ran out of time, died, or broke the protocol."""

    kind: Literal["timeout", "died", "protocol"]
    detail: str = ""


def result_of(message: dict[str, Any], *, limit: float, seconds: float, isolated: bool, cap: int) -> ExecResult:
    """The result of a call, from the worker's ``result`` message (``cap``: the most characters kept per stream)."""
    stdout, stderr = text(message.get("stdout"), cap), text(message.get("stderr"), cap)
    error = message.get("error")
    error = text(error, 1000) if error is not None else None
    interrupted = message.get("interrupted")
    timed_out = False
    if interrupted == "wall-clock":
        timed_out = True
        error = (
            f"TimeoutError: the call exceeded the {limit:g} s wall-clock limit and was interrupted (variables are kept)"
        )
    elif interrupted is not None:
        error = f"CPUTimeLimitExceeded: {text(interrupted, 300)}; interrupted (variables are kept)"
    return ExecResult(
        stdout=stdout,
        stderr=stderr,
        error=error,
        timed_out=timed_out,
        isolated=isolated,
        seconds=seconds,
        truncated=bool(message.get("truncated")),
    )


def failed(failure: Failure, *, limit: float, seconds: float, isolated: bool, lost: str) -> ExecResult:
    """The result of a call whose worker was lost; ``lost`` says what went with it."""
    if failure.kind == "timeout":
        error = f"TimeoutError: the call exceeded the {limit:g} s wall-clock limit and did not stop; {lost}"
    elif failure.kind == "died":
        error = f"SandboxCrash: the worker process died ({failure.detail}); {lost}"
    else:
        error = f"SandboxCrash: the worker broke the protocol ({failure.detail}); {lost}"
    return ExecResult(
        stdout="",
        stderr=error + "\n",
        error=error,
        timed_out=failure.kind == "timeout",
        isolated=isolated,
        seconds=seconds,
        restarted=True,
    )


def text(value: object, cap: int) -> str:
    """``value`` as text of at most ``cap`` characters (and a marker)."""
    out = value if isinstance(value, str) else ("" if value is None else str(value))
    return out if len(out) <= cap else out[:cap] + "\n[... cut by the host ...]\n"
