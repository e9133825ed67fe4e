"""A run's recipe: what it takes to rebuild the same strategy, model, options and budget.

``ponder ask`` stores one with every run it records; ``ponder resume`` rebuilds
the run from it. Everything in it is plain JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..budget import Budget
from ..types import GenerationOptions


@dataclass(frozen=True, slots=True)
class Recipe:
    strategy: str
    model: str
    base_url: str | None = None
    tools: str = ""
    tool_protocol: str = "auto"
    budget: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    strategy_options: dict[str, Any] = field(default_factory=dict)
    #: the ``--stop`` policy (``learned:PATH``), if any
    stop: str | None = None
    #: the ``--memory`` settings (``mode``, ``threshold``, ``window``), if any
    memory: dict[str, Any] | None = None

    @classmethod
    def of(
        cls,
        strategy: str,
        model: str,
        budget: Budget,
        options: GenerationOptions,
        *,
        base_url: str | None = None,
        tools: str = "",
        tool_protocol: str = "auto",
        strategy_options: dict[str, Any] | None = None,
        stop: str | None = None,
        memory: dict[str, Any] | None = None,
    ) -> Recipe:
        plain_options = asdict(options)
        plain_options["stop"] = list(options.stop)
        return cls(
            strategy,
            model,
            base_url,
            tools,
            tool_protocol,
            asdict(budget),
            plain_options,
            dict(strategy_options or {}),
            stop,
            dict(memory) if memory else None,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Recipe:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def make_budget(self) -> Budget:
        return Budget(**self.budget)

    def make_options(self) -> GenerationOptions:
        data = dict(self.options)
        data["stop"] = tuple(data.get("stop", ()))
        return GenerationOptions(**data)
