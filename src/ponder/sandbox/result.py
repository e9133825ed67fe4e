"""``ExecResult``: what one call into the sandbox produced."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ExecResult:
    """The outcome of :meth:`Sandbox.run`.

    ``error`` is ``None`` or one line such as ``"ZeroDivisionError: division by zero"``
    (the traceback, if any, is at the end of ``stderr``). ``timed_out`` is true when the
    wall-clock limit ended the call; ``error`` then says whether the variables survived.
    ``isolated`` is true when the code ran under bubblewrap, false in the plain-subprocess
    fallback. ``truncated`` is true when stdout or stderr was cut to ``max_output``.
    """

    stdout: str
    stderr: str
    error: str | None
    timed_out: bool
    isolated: bool
    seconds: float
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
