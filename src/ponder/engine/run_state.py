"""What the engine keeps while it runs: the state of each (child) run, and the replay hook of a resume."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from ..errors import StopRun
from ..events import Event
from ..result import Step
from ..types import Completion, GenerationOptions, Message, Usage


class Replay(Protocol):
    """Recorded results served back to a rerun (``ponder resume``); see :mod:`ponder.store.replay`.

    Calls are matched by their step index (deterministic in a rerun of the same run), so the calls
    of a batch that completed before a crash are replayed whatever order they completed in."""

    def run_id(self) -> str | None: ...

    def model_call(
        self, step: int, messages: Sequence[Message], options: GenerationOptions, kind: str
    ) -> tuple[Completion, float] | None: ...

    def tool_call(self, step: int, tool: str, arguments: Any) -> Any: ...

    def finish(self) -> None:
        """Called when the rerun ends normally: raises if recorded results were never asked for."""
        ...


class RunState:
    """Mutable state of one (possibly child) run, owned by the engine while it runs."""

    __slots__ = (
        "by_model",
        "depth",
        "events",
        "role",
        "run_id",
        "seed",
        "started",
        "steps",
        "stopping",
        "temperature",
        "usage",
    )

    def __init__(
        self, depth: int, temperature: float | None = None, seed: int | None = None, role: str = "root"
    ) -> None:
        self.run_id = uuid.uuid4().hex[:12]
        self.depth = depth
        #: the model role of this run's calls that name none
        self.role = role
        #: sampling overrides for every call of this run (from ``Child``), or None
        self.temperature = temperature
        self.seed = seed
        self.steps: list[Step] = []
        self.usage = Usage()
        self.by_model: dict[str, Usage] = {}
        self.events: list[Event] = []
        self.stopping: StopRun | None = None
        self.started = time.perf_counter()
