"""What a strategy may ask the engine to do.

A strategy is a generator: it *yields* one of these requests and receives the
result back from ``yield``; when it is done it *returns* an :class:`Outcome`.
It never calls a backend itself, so the engine is the one place where budgets,
tracing, concurrency and (later) replay happen.

============  ====================================  =========================
request       what the engine does                  what ``yield`` returns
============  ====================================  =========================
Generate      one model call, recorded as a step    :class:`Completion`
Batch         independent Generates, concurrently   ``list[Completion]``
Record        records a step without a model call   ``None``
CallTool      calls a tool, recorded as a step      :class:`~ponder.tools.ToolResult`
Child         runs another strategy as a child run  :class:`Outcome`
Children      several child runs at once            ``list[Outcome]``
Checkpoint    asks whether the run may go on        seconds left, or None
============  ====================================  =========================

A :class:`Strategy` is anything with a ``name`` and such a ``run`` generator.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args, runtime_checkable

from . import steps
from .errors import StopReason
from .types import GenerationOptions, Message

if TYPE_CHECKING:
    from .tools import Tool

#: the model roles of a run (see :class:`~ponder.spec.RunSpec`); a request may name one (None: the role of the
#: run it belongs to). Not a chat message's role (:data:`ponder.types.MessageRole`).
ModelRole = Literal["root", "sub", "fast", "judge"]
MODEL_ROLES: tuple[ModelRole, ...] = get_args(ModelRole)


@dataclass(frozen=True, slots=True)
class Generate:
    """Ask the model for one completion. ``kind`` labels the step (draft, critique, ...: :mod:`ponder.steps`).

    ``options`` replaces the engine's default options; ``stop`` and ``grammar``
    are added to whichever options apply (so a strategy can ask for a stop
    sequence without overriding the user's temperature or token limit).
    ``tools`` are offered to the model as native tool calls when the backend
    supports them (``Model.supports_tools``); other backends never see them;
    ``tool_choice`` (``required``/``auto``) goes with them to servers that take it.
    ``temperature`` and ``seed`` override just those two options (a sampler
    asks for distinct seeds without touching the user's token limit); ``data``
    is copied into the recorded step (e.g. ``{"sample": 3}``).
    """

    messages: tuple[Message, ...]
    kind: str = steps.GENERATE
    options: GenerationOptions | None = None
    tools: tuple[Tool, ...] = ()
    stop: tuple[str, ...] = ()
    grammar: str | None = None
    temperature: float | None = None
    seed: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    #: the model role that answers (``judge`` for an LM verifier, ``sub`` for recursive map calls);
    #: None: the role of the run (root, or what the ``Child`` that started it named)
    role: ModelRole | None = None
    #: with ``tools``: ``required`` (the reply must be a tool call) or ``auto``; see GenerationOptions
    tool_choice: str | None = None

    @classmethod
    def of(
        cls,
        messages: Sequence[Message],
        kind: str = steps.GENERATE,
        options: GenerationOptions | None = None,
        tools: Sequence[Tool] = (),
        stop: Sequence[str] = (),
        grammar: str | None = None,
        *,
        temperature: float | None = None,
        seed: int | None = None,
        data: Mapping[str, Any] | None = None,
        role: ModelRole | None = None,
        tool_choice: str | None = None,
    ) -> Generate:
        return cls(
            tuple(messages),
            kind,
            options,
            tuple(tools),
            tuple(stop),
            grammar,
            temperature,
            seed,
            dict(data or {}),
            role,
            tool_choice,
        )

    @classmethod
    def samples(
        cls,
        messages: Sequence[Message],
        kind: str,
        temperature: float | Callable[[int], float],
        seed: int,
        ids: Sequence[int],
        label: str,
    ) -> tuple[Generate, ...]:
        """One sampling call per id in ``ids``, at ``temperature`` (or ``temperature(id)``) with seed
        ``seed + id``; the id, seed and temperature are recorded in each call's data (``label`` names the id)."""
        at = temperature if callable(temperature) else (lambda i: temperature)
        return tuple(
            cls.of(
                messages,
                kind,
                temperature=at(i),
                seed=seed + i,
                data={label: i, "seed": seed + i, "temperature": at(i)},
            )
            for i in ids
        )


@dataclass(frozen=True, slots=True)
class Batch:
    """Independent model calls the engine may run concurrently; results keep their order."""

    requests: tuple[Generate, ...]


@dataclass(frozen=True, slots=True)
class Record:
    """A visible step that is not a model call (a decision, a check, a vote; kinds in :mod:`ponder.steps`).

    ``data`` is copied into the recorded step; the payloads readers rely on are typed there.
    """

    kind: str
    text: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallTool:
    """Call ``tool`` with ``arguments``: a dict, or the model's raw text (ReAct's Action Input).

    Problems the model caused come back as a failed ToolResult, never as an exception.
    """

    tool: Tool
    arguments: str | dict[str, Any]
    kind: str = steps.TOOL


@dataclass(frozen=True, slots=True)
class Child:
    """Run ``strategy`` on ``question`` as a child run sharing this run's budget.

    A child starts only while the budget allows one more model call; otherwise
    the engine throws :class:`~ponder.errors.StopRun` into the parent, so a
    child that used up the budget stops its parent too. ``temperature`` and
    ``seed`` apply to every model call of the child run (and its children) that
    sets no override of its own; seeds set inside a seeded child are mixed with
    the child's seed, so nested samplers stay distinct. ``role`` names the model
    role of the child's calls (route's fast path: ``fast``; recursive
    sub-calls: ``sub``); None keeps the parent's.
    """

    strategy: Strategy
    question: str
    temperature: float | None = None
    seed: int | None = None
    role: ModelRole | None = None


@dataclass(frozen=True, slots=True)
class Children:
    """Run several child runs at once, sharing this run's budget; the outcomes keep their order.

    At most ``max_parallel_children`` children are running at a time; their model calls go out together
    (see :mod:`ponder.engine.children`). A child that fails (a backend error, a strategy that raised)
    ends with stop reason ``error`` and its message as the detail, and the others go on; a child the
    budget leaves no room for ends with the budget's stop reason without starting.
    """

    children: tuple[Child, ...]
    max_parallel_children: int = 4


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Ask whether the run may go on, while the strategy waits for something slow of its own (recursive
    code mode's REPL call): the engine throws :class:`~ponder.errors.StopRun` into the strategy when the
    run's time is up or it was cancelled; otherwise the result is the seconds left (None: no time limit).
    Nothing is recorded."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a strategy ended: its answer (if any), the stop reason and a short explanation."""

    answer: str | None
    stop_reason: StopReason = "answered"
    detail: str = ""


Request = Generate | Batch | Record | CallTool | Child | Children | Checkpoint
StrategyGen = Generator[Request, Any, Outcome]


@runtime_checkable
class Strategy(Protocol):
    """A reasoning loop. ``run`` is a generator: it yields requests and returns an Outcome.

    A strategy never calls a backend, a clock or a file itself; that keeps it
    deterministic under a scripted model and lets the engine budget, trace and
    (later) replay everything it does.
    """

    @property
    def name(self) -> str:
        """The strategy's name, shown in results and traces (a plain attribute in implementations)."""
        ...

    def run(self, question: str) -> StrategyGen: ...
