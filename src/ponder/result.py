"""What a run produces: its steps and the final result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import StopReason
from .events import Event
from .types import Usage


@dataclass(slots=True)
class Step:
    """One visible step of a run: a model call (draft, critique, ...) or a recorded decision."""

    index: int
    kind: str
    text: str
    run_id: str
    depth: int = 0
    usage: Usage | None = None
    seconds: float = 0.0
    finish_reason: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    #: the name of the model that answered (model calls only)
    model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "kind": self.kind, "text": self.text}
        out["run_id"] = self.run_id
        out["depth"] = self.depth
        if self.usage is not None:
            out["usage"] = self.usage.to_dict()
            out["seconds"] = round(self.seconds, 4)
            out["finish_reason"] = self.finish_reason
            out["model"] = self.model
        if self.data:
            out["data"] = self.data
        return out


@dataclass(slots=True)
class RunResult:
    """The result of :meth:`ponder.Engine.run`; ``to_dict()`` is the CLI's ``--json`` object."""

    run_id: str
    question: str
    answer: str | None
    stop_reason: StopReason
    detail: str
    strategy: str
    model: str
    steps: list[Step]
    usage: Usage
    seconds: float
    events: list[Event] = field(default_factory=list, repr=False)
    #: usage per model name (one entry for a run on one model)
    usage_by_model: dict[str, Usage] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "question": self.question,
            "answer": self.answer,
            "strategy": self.strategy,
            "model": self.model,
            "stop_reason": self.stop_reason,
            "detail": self.detail,
            "steps": [s.to_dict() for s in self.steps],
            "usage": self.usage.to_dict(),
            "usage_by_model": {name: usage.to_dict() for name, usage in self.usage_by_model.items()},
            "seconds": round(self.seconds, 3),
        }
