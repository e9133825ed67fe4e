"""The parts of a :class:`~ponder.spec.RunSpec`: a role's model, the budget, the memory settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from ..engine.budget import Budget
from ..errors import ConfigError
from ..guards.numbers import finite
from ..models.registry import DEFAULT_MODEL
from ..models.servers import SERVER_KINDS
from .node import BASE_STEPS


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A model for one role: the backend spec (``smollm2``, ``gguf:PATH``, ``openai:NAME``, ``scripted``),
    the server's base URL, and capability overrides (None: the backend's own).

    ``server_kind`` (``openai:`` models) says what the server is: ``llamacpp``, ``vllm``, ``ollama``,
    ``openai``, or ``auto`` (probed); ``context_window`` is the window where the server reports none
    (for a GGUF model: its ``n_ctx``). For the embedded models (``smollm2``, ``gguf:``, plugins built on
    them): ``batched_decode`` (false: one call at a time, as ``PONDER_BATCHED_DECODE=0``) and
    ``batch_sequences`` (how many sequences decode together, 1-64; default 8 or
    ``PONDER_BATCH_SEQUENCES``); see :mod:`ponder.models.batching`."""

    model: str = DEFAULT_MODEL
    base_url: str | None = None
    writes_code: bool | None = None
    server_kind: str | None = None
    context_window: int | None = None
    batched_decode: bool | None = None
    batch_sequences: int | None = None

    @classmethod
    def parse(cls, data: Any) -> ModelSpec:
        if isinstance(data, ModelSpec):
            return data
        if isinstance(data, str):
            data = {"model": data}
        if not isinstance(data, Mapping):
            raise ConfigError(f"a model must be a spec string or an object, got {data!r}")
        known = (
            "model",
            "base_url",
            "writes_code",
            "server_kind",
            "context_window",
            "batched_decode",
            "batch_sequences",
        )
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"a model takes {', '.join(known)}, not {', '.join(unknown)}")
        spec = cls(**dict(data))
        if not isinstance(spec.model, str) or not spec.model.strip():
            raise ConfigError(f"a model needs a backend spec (e.g. smollm2 or openai:NAME), got {spec.model!r}")
        if spec.writes_code is not None and not isinstance(spec.writes_code, bool):
            raise ConfigError(f"writes_code must be true or false, got {spec.writes_code!r}")
        if spec.server_kind is not None:
            if spec.server_kind not in SERVER_KINDS:
                raise ConfigError(f"unknown server kind {spec.server_kind!r} (use {', '.join(SERVER_KINDS)})")
            if not spec.model.startswith("openai:"):
                raise ConfigError(f"--server-kind applies to openai:MODEL models, not {spec.model}")
        window = spec.context_window
        if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 16):
            raise ConfigError(f"context_window must be a whole number of tokens >= 16, got {window!r}")
        if spec.batched_decode is not None and not isinstance(spec.batched_decode, bool):
            raise ConfigError(f"batched_decode must be true or false, got {spec.batched_decode!r}")
        count = spec.batch_sequences
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 64):
            raise ConfigError(f"batch_sequences must be a whole number from 1 to 64, got {count!r}")
        if (spec.batched_decode is not None or count is not None) and spec.model.startswith(("openai:", "scripted")):
            raise ConfigError(f"batched_decode and batch_sequences apply to embedded models, not {spec.model}")
        return spec

    def load_options(self) -> dict[str, Any]:
        """The keyword options :func:`~ponder.models.load_model` takes for this model."""
        options: dict[str, Any] = {}
        remote = self.model.startswith("openai:")
        if self.server_kind is not None and remote:
            options["server_kind"] = self.server_kind
        if self.context_window is not None:
            options["context_window" if remote else "n_ctx"] = self.context_window
        if self.batched_decode is not None:
            options["batched"] = self.batched_decode
        if self.batch_sequences is not None:
            options["max_sequences"] = self.batch_sequences
        return options


def depth_of(key: str) -> int | None:
    """N for a ``depth:N`` models key (N >= 1: the model of ``sub`` calls N levels below the root run), else None."""
    head, _, number = key.partition(":")
    if head != "depth" or not number.isdigit() or int(number) < 1 or number != str(int(number)):
        return None
    return int(number)


@dataclass(frozen=True, slots=True)
class BudgetSpec:
    """The run's limits; ``max_steps="auto"``: the strategy's own count of calls (at least 8)."""

    max_steps: int | Literal["auto"] | None = "auto"
    max_model_calls: int | None = None
    max_tokens: int | None = None
    max_seconds: float | None = None
    max_depth: int = 3
    max_usd: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_steps", "max_model_calls", "max_tokens", "max_seconds", "max_depth", "max_usd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (value is None or value == "auto" or isinstance(value, int | float)):
                raise ConfigError(f"budget.{name} must be a number, got {value!r}")
        steps = BASE_STEPS if self.max_steps == "auto" else self.max_steps
        Budget(**{**asdict(self), "max_steps": steps})  # the same one-line errors as Budget

    def budget(self, steps: int | None) -> Budget:
        """The :class:`Budget`, with ``steps`` standing for ``"auto"``."""
        return Budget(**{**asdict(self), "max_steps": steps if self.max_steps == "auto" else self.max_steps})


@dataclass(frozen=True, slots=True)
class MemorySpec:
    """Compaction of an iterative strategy's prompt: ``summary`` (a model call) or ``notes``; see :class:`Memory`."""

    mode: Literal["summary", "notes"] = "summary"
    threshold: float = 0.8

    def __post_init__(self) -> None:
        if self.mode not in ("summary", "notes"):
            raise ConfigError(f"unknown memory mode {self.mode!r} (use off, summary or notes)")
        finite("memory threshold", self.threshold)
        if not 0 < self.threshold <= 1:
            raise ConfigError(f"memory threshold must be in (0, 1], got {self.threshold}")
