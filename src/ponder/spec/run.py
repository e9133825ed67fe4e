"""``RunSpec``: the whole description of a run, as frozen, versioned, JSON-serialisable data.

Every way of starting a run (``ponder ask``, ``ponder ask --spec FILE``,
``ponder resume``, :func:`ponder.run`, the Python API with a store) is a thin
shell over a ``RunSpec`` and :func:`~ponder.spec.open_run`. The spec is
validated in one place (here): the cross-option rules a user can break give
one clear line (a :class:`~ponder.errors.ConfigError`).

>>> spec = RunSpec.from_dict({"strategy": {"strategy": "route", "slow": {"strategy": "consistency", "samples": 3}}})
>>> spec.strategy.names()
['route', 'single', 'consistency']
>>> RunSpec.from_json(spec.to_json()) == spec
True
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ..engine.prices import PriceTable
from ..errors import ConfigError
from ..grammar.check import check_grammar
from ..guards.numbers import loads_json, whole
from ..guards.text import clean
from ..requests import MODEL_ROLES
from ..types import GenerationOptions, Message, clean_messages
from .node import BASE_STEPS, StrategySpec, strategies_that
from .parts import BudgetSpec, MemorySpec, ModelSpec, depth_of

SPEC_FORMAT = "ponder-run-spec"
_SESSION_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
SPEC_VERSION = 1
#: old names of the spec's fields, still read (spec files, stored runs and HTTP requests written before the rename)
FIELD_ALIASES: dict[str, str] = {"max_concurrency": "max_parallel_calls"}


@dataclass(frozen=True)
class RunSpec:
    """Everything a run needs (see the module docs). ``models`` maps a role (root, sub, fast, judge) to its model;
    roles not given use the root model. ``depth:N`` keys name the model of ``sub`` calls N levels below the
    root run (``depth:1``: the root's sub-calls and child runs; ``depth:2``: theirs), over ``sub``."""

    strategy: StrategySpec = field(default_factory=lambda: StrategySpec("single"))
    question: str | None = None
    models: Mapping[str, ModelSpec] = field(default_factory=lambda: {"root": ModelSpec()})
    tools: tuple[str, ...] = ()
    budget: BudgetSpec = field(default_factory=BudgetSpec)
    options: GenerationOptions = field(default_factory=lambda: GenerationOptions(max_tokens=384))
    memory: MemorySpec | None = None
    #: the root strategy's stop policy: ``fixed`` (None) or ``learned:PATH``
    stop: str | None = None
    #: a file or folder the question is about (recursive), stored as an absolute path
    context: str | None = None
    #: or the text itself (a long input sent over HTTP: ``ponder serve``'s recursive runs)
    context_text: str | None = None
    #: the context's fingerprint when the run started (set by the run; resume checks it did not change)
    context_fingerprint: Mapping[str, Any] | None = None
    #: the run store file (None: the default location); ``record=False``: not stored
    store: str | None = None
    record: bool = True
    #: reuse completions of identical deterministic calls from earlier runs, kept in the store (``--cache``)
    cache: bool = False
    #: a JSONL trace file to write the events to
    trace: str | None = None
    #: model calls made at once (a batch's independent calls); spec files may still call it ``max_concurrency``
    max_parallel_calls: int = 8
    #: the conversation the question ends: a system prompt and earlier turns (see :mod:`ponder.engine.conversation`)
    history: tuple[Message, ...] = ()
    #: a named REPL session of recursive code mode, kept in the store across questions (``--session NAME``)
    session: str | None = None
    #: what the models' tokens cost (``--prices FILE``; see :mod:`ponder.engine.prices`): the run's cost and ``max_usd``
    prices: PriceTable | None = None
    version: int = SPEC_VERSION

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        _check_types(self)
        # text from the user, a spec file or a client is valid Unicode from here on (ponder.guards.text)
        for name in ("question", "context_text"):
            value = getattr(self, name)
            if value is not None:
                set_(self, name, clean(value))
        set_(self, "history", clean_messages(self.history))
        if self.prices is not None:
            set_(self, "prices", PriceTable.parse(self.prices, "the run spec's prices") or None)
        if self.version > SPEC_VERSION:
            raise ConfigError(f"the run spec has version {self.version}; this ponder reads up to {SPEC_VERSION}")
        models = {role: ModelSpec.parse(m) for role, m in self.models.items()}
        unknown = sorted(r for r in models if r not in MODEL_ROLES and depth_of(r) is None)
        if unknown:
            raise ConfigError(
                f"unknown model role {', '.join(unknown)} (roles: {', '.join(MODEL_ROLES)}, or depth:N for the sub-calls"
                " N levels below the root, N >= 1)"
            )
        models.setdefault("root", ModelSpec())
        set_(self, "models", models)
        whole("max_parallel_calls", self.max_parallel_calls)
        if self.max_parallel_calls < 1:
            raise ConfigError(f"max_parallel_calls must be >= 1, got {self.max_parallel_calls}")
        if self.context is not None and self.context_text is not None:
            raise ConfigError("a run has a context file or a context text, not both")
        if self.context is not None:
            set_(self, "context", str(Path(self.context).expanduser().resolve()))
        if self.context is not None or self.context_text is not None:
            if self.strategy == StrategySpec("single"):
                set_(self, "strategy", StrategySpec.parse(implied_strategy("single", "context")))
            if not self.strategy.entry.reads_context:
                readers = " or ".join(strategies_that("reads_context"))
                raise ConfigError(f"--context works with --strategy {readers}, not {self.strategy.name}")
        names = " + ".join(self.strategy.names())
        if self.strategy.needs_tools() and not self.tools:
            raise ConfigError(f"--strategy {names} needs --tools (e.g. --tools calculator)")
        if self.tools and not self.strategy.takes_tools():
            raise ConfigError(
                f"--tools needs a strategy that uses tools (--strategy react, or recursive), not {self.strategy.name}"
            )
        has_context = self.context is not None or self.context_text is not None
        if not has_context and any(n.options.get("aggregate", "auto") != "auto" for n in self.strategy.walk()):
            raise ConfigError("--aggregate needs --context")
        if self.session is not None:
            if not _SESSION_NAME.match(self.session):
                raise ConfigError(f"a session name is 1-100 letters, digits, '.', '_' or '-', got {self.session!r}")
            if not self.strategy.entry.keeps_session:
                keepers = " or ".join(strategies_that("keeps_session"))
                raise ConfigError(f"--session keeps the REPL of --strategy {keepers}, not {self.strategy.name}")
            if not has_context:
                raise ConfigError("--session needs --context (each question of a session reads a context)")
            if not self.record:
                raise ConfigError("--session is kept in the run store: drop --no-store")
        root = self.strategy.entry
        if self.stop not in (None, "fixed") and root.stop_state is None:
            raise ConfigError(
                f"--stop {self.stop} does not apply to {root.name} (use it with --strategy refine or --strategy consistency)"
            )
        if self.cache and not self.record:
            raise ConfigError("--cache keeps completions in the run store; it does not go with --no-store")
        if self.options.grammar is not None:
            check_grammar(self.options.grammar)  # llama.cpp's sampler crashes the process on a grammar it refuses
        if self.memory is not None and not root.memory:
            raise ConfigError(f"--memory does not apply to {root.name} (use it with --strategy react or refine)")

    # -- derived ------------------------------------------------------------

    def model(self, role: str = "root") -> ModelSpec:
        """The model of ``role`` (the root model for a role not given)."""
        return self.models.get(role) or self.models["root"]

    def default_steps(self) -> int:
        """The step limit for ``max_steps="auto"``: what the strategy's configuration needs, at least 8."""
        return max(BASE_STEPS, self.strategy.calls() or BASE_STEPS)

    def require_question(self) -> str:
        """The spec's question; ConfigError when there is none."""
        if self.question is None or not self.question.strip():
            raise ConfigError("the question is empty")
        return self.question

    def with_question(self, question: str) -> RunSpec:
        return replace(self, question=question)

    # -- plain data ---------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        options = asdict(self.options)
        options["stop"] = list(self.options.stop)
        out: dict[str, Any] = {"format": SPEC_FORMAT, "version": self.version}
        out["question"] = self.question
        out["strategy"] = self.strategy.to_dict()
        out["models"] = {role: _compact(asdict(m)) for role, m in self.models.items()}
        out["tools"] = list(self.tools)
        out["budget"] = asdict(self.budget)
        out["options"] = options
        out["memory"] = asdict(self.memory) if self.memory is not None else None
        for name in (
            "stop",
            "context",
            "context_text",
            "context_fingerprint",
            "store",
            "record",
            "cache",
            "trace",
            "session",
        ):
            out[name] = getattr(self, name)
        out["max_parallel_calls"] = self.max_parallel_calls
        if self.history:
            out["history"] = [{"role": m.role, "content": m.content} for m in self.history]
        if self.prices is not None:
            out["prices"] = self.prices.to_dict()
        return out

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSpec:
        """A spec from plain data (as :meth:`to_dict` writes it); missing fields take their defaults."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"a run spec must be a JSON object, got {type(data).__name__}")
        if data.get("format", SPEC_FORMAT) != SPEC_FORMAT:
            raise ConfigError(f"not a ponder run spec (format {data.get('format')!r})")
        data = renamed(data)
        known = {f.name for f in fields(cls)} | {"format"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"a run spec has no field {', '.join(unknown)} (fields: {', '.join(sorted(known))})")
        kwargs: dict[str, Any] = {k: v for k, v in data.items() if k != "format"}
        if "strategy" in kwargs:
            kwargs["strategy"] = StrategySpec.parse(kwargs["strategy"])
        if "models" in kwargs:
            if not isinstance(kwargs["models"], Mapping):
                raise ConfigError(f"models must map a role to a model, got {kwargs['models']!r}")
            kwargs["models"] = {str(r): ModelSpec.parse(m) for r, m in kwargs["models"].items()}
        if "tools" in kwargs:
            tools = kwargs["tools"]
            if not isinstance(tools, str | list | tuple) or not all(isinstance(t, str) for t in tools):
                raise ConfigError(f'tools must be a list of --tools items (e.g. ["calculator"]), got {tools!r}')
            kwargs["tools"] = parse_tools(tools)
        kwargs["budget"] = _typed(BudgetSpec, kwargs.get("budget"), "budget")
        options = dict(kwargs.get("options") or {})
        options.setdefault("max_tokens", 384)
        if "stop" in options:
            stop = options["stop"]
            if not isinstance(stop, str | list | tuple) or not all(isinstance(s, str) for s in stop):
                raise ConfigError(f"options.stop must be a string or a list of strings, got {stop!r}")
            options["stop"] = (stop,) if isinstance(stop, str) else tuple(stop)
        kwargs["options"] = _typed(GenerationOptions, options, "options")
        if "history" in kwargs:
            kwargs["history"] = _history(kwargs["history"])
        memory = kwargs.get("memory")
        kwargs["memory"] = None if memory in (None, "off") else _typed(MemorySpec, memory, "memory")
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        try:
            data = loads_json(text)
        except ValueError as exc:
            raise ConfigError(f"the run spec is not valid JSON: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | Path) -> RunSpec:
        """The spec in the JSON file at ``path``."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the spec file {path}: {exc.strerror}") from None
        return cls.from_json(text)


_TYPES: dict[str, tuple[type, ...]] = {
    "question": (str, type(None)),
    "stop": (str, type(None)),
    "context": (str, type(None)),
    "context_text": (str, type(None)),
    "context_fingerprint": (dict, type(None)),
    "store": (str, type(None)),
    "record": (bool,),
    "cache": (bool,),
    "trace": (str, type(None)),
    "session": (str, type(None)),
    "max_parallel_calls": (int,),
    "version": (int,),
}


def _check_types(spec: RunSpec) -> None:
    for name, kinds in _TYPES.items():
        value = getattr(spec, name)
        if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
            want = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
            raise ConfigError(f"the run spec's {name} must be {want}, got {value!r}")


def renamed(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with the fields given under an old name (:data:`FIELD_ALIASES`) under their current one."""
    out = dict(data)
    for old, new in FIELD_ALIASES.items():
        if old in out:
            if new in out:
                raise ConfigError(f"a run spec gives both {old} and {new} (its old name): give one")
            out[new] = out.pop(old)
    return out


def implied_strategy(name: str, context: str | None) -> str:
    """The strategy a run gets: a context implies the (first registered) strategy that reads one instead of
    the default ``single``."""
    if context is None or name != "single":
        return name
    return strategies_that("reads_context")[0]


def parse_tools(tools: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The ``--tools`` items of a comma-separated string or a list."""
    return tuple(t.strip() for t in (tools.split(",") if isinstance(tools, str) else tools) if t)


def _history(data: Any) -> tuple[Message, ...]:
    if not isinstance(data, list | tuple):
        raise ConfigError(f"history must be a list of messages, got {data!r}")
    out = []
    for item in data:
        if isinstance(item, Message):
            out.append(item)
            continue
        if (
            not isinstance(item, Mapping)
            or item.get("role") not in ("system", "user", "assistant")
            or not isinstance(item.get("content"), str)
        ):
            raise ConfigError(
                f"a history message needs a role (system, user or assistant) and text content, got {item!r}"
            )
        out.append(Message(item["role"], item["content"]))
    return tuple(out)


def _typed(kind: Any, data: Any, what: str) -> Any:
    if data is None:
        return kind()
    if isinstance(data, kind):
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{what} must be an object, got {data!r}")
    known = {f.name for f in fields(kind)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{what} has no field {', '.join(unknown)} (fields: {', '.join(sorted(known))})")
    try:
        return kind(**dict(data))
    except TypeError as exc:
        raise ConfigError(f"{what}: {exc}") from None


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}
