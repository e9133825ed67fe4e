"""How a strategy declares itself to the registry: its options, slots, needs and default cost.

Every strategy module ends with one :class:`StrategyEntry` (``ENTRY``). The
entry is the single source of truth for

* the **options** a run spec may set on the strategy (typed :class:`Option` s,
  each the name of a field of the strategy class, with its CLI flag and help);
* its **slots**: the fields that hold another strategy (:class:`Slot`, e.g.
  ``inner`` of consistency, ``fast``/``slow`` of route) and the model role the
  nested strategy runs under;
* whether it has a ``verifier`` (always that one name in a spec), takes tools,
  supports memory, and which stop-policy state it reports (``refine`` passes or
  ``consistency`` waves);
* how many model calls its configuration needs (:attr:`StrategyEntry.calls`),
  which is the run's default step limit when the user sets none;
* ``prepare``: the few options that depend on the running models (react's tool
  protocol, recursive's mode) are resolved there, not in the CLI.

Third-party strategies register an entry through the ``ponder.strategies``
entry-point group (see :mod:`ponder.strategies.registry`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..access import Access
from ..errors import ConfigError
from ..guards.numbers import MAX_INT, finite, whole

if TYPE_CHECKING:
    from ..models.base import Model
    from ..requests import ModelRole, Strategy
    from ..tools.base import Tool

StopState = Literal["refine", "consistency"]
OptionType = type[int] | type[float] | type[bool] | type[str]
_JSON_PLAIN = (int, float, bool, str, type(None))


@dataclass(frozen=True, slots=True)
class Option:
    """One option a spec may set: ``name`` is the strategy's field; ``flag`` its ``ponder ask`` flag.

    ``flag_value`` makes a value-less flag (``--anchor`` sets True, ``--no-adaptive`` sets False).
    ``minimum`` and ``maximum`` bound numbers (``open_min``: strictly above the minimum; numbers are
    always finite and whole numbers at most :data:`ponder.guards.numbers.MAX_INT`); ``choices`` bounds strings;
    ``nullable``: ``null`` is a valid value (e.g. tree's ``depth``: the task's own).
    ``requires``: the flag only makes sense with another one (``--aggregate`` needs ``--context``).
    """

    name: str
    type: OptionType
    help: str
    flag: str | None = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    open_min: bool = False
    #: the largest value (None: whole numbers up to :data:`ponder.guards.numbers.MAX_INT`, any finite float)
    maximum: float | None = None
    flag_value: bool | None = None
    nullable: bool = False
    #: what to tell a user whose flag no strategy of the tree takes (e.g. ``--context``: the flag needs it)
    requires: str | None = None
    #: the strategy's own default, when a flag may be given with it where no strategy takes the option
    #: (``--tool-protocol auto`` without react changes nothing, so it is no error)
    default: Any = None
    #: who may set it (None: undeclared, which a server treats as the operator's; every built-in declares)
    access: Access | None = None
    #: the largest value a client may give (a count: samples, rounds, widths); None: ``maximum``
    client_max: float | None = None
    #: the longest string (a marker, a pattern); longer is a ConfigError
    max_length: int = 1000

    def check(self, strategy: str, value: Any, *, client: bool = False) -> Any:
        """``value`` as this option's type, or a ConfigError that names the strategy and option.

        The one place an option's declared bounds are checked; ``client``: with the client bound
        (``client_max``) of a request to ``ponder serve``."""
        if value is None and self.nullable:
            return None
        where = f"{strategy}: {self.name}"
        if client and self.client_max is not None and _number(value) and value > self.client_max:
            raise ConfigError(f"{where} may be at most {self.client_max:g} in a request, got {value!r}")
        if self.type is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"{where} must be true or false, got {value!r}")
            return value
        if self.type is int:
            value = whole(where, value, maximum=int(self.maximum) if self.maximum is not None else MAX_INT)
        elif self.type is float:
            value = finite(where, value, maximum=self.maximum)
        elif not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        elif len(value) > self.max_length:
            raise ConfigError(f"{where} must be at most {self.max_length} characters, got {len(value)}")
        if self.choices and value not in self.choices:
            raise ConfigError(f"{where} must be one of {', '.join(self.choices)}, got {value!r}")
        if self.minimum is not None and (value <= self.minimum if self.open_min else value < self.minimum):
            bound = f"> {self.minimum:g}" if self.open_min else f">= {self.minimum:g}"
            raise ConfigError(f"{where} must be {bound}, got {value!r}")
        return value


@dataclass(frozen=True, slots=True)
class Slot:
    """A field that holds a strategy. ``default``: the strategy it holds when the spec names none
    (None: the slot stays empty); ``role``: the model role the nested strategy's calls use."""

    name: str
    help: str
    flag: str | None = None
    default: str | None = None
    role: ModelRole | None = None
    #: who may fill it (a client's strategy in a slot is checked like the root, at every depth)
    access: Access | None = None


@dataclass(frozen=True, slots=True)
class BuildContext:
    """What building a strategy may depend on: the tools and the models, by role, of its run."""

    tools: Sequence[Tool] = ()
    models: Mapping[str, Model] = field(default_factory=dict)
    #: the run's context file or folder (``--context``), or its text, if any
    context: str | None = None
    context_text: str | None = None
    #: the role the strategy being built runs under
    role: ModelRole = "root"
    #: capability overrides per role from the run spec (``writes_code``), over the backends' own
    writes_code_overrides: Mapping[str, bool] = field(default_factory=dict)
    #: the run's REPL session (``--session NAME``: a :class:`~ponder.strategies.repl_session.ReplSession`)
    session: Any = None

    def model(self, role: ModelRole | None = None) -> Model | None:
        """The model of ``role`` (default: this strategy's role), falling back to the root model."""
        return self.models.get(role or self.role) or self.models.get("root")

    def writes_code(self, role: ModelRole | None = None) -> bool:
        """Whether the model of ``role`` writes code: the spec's setting for that role, else the backend's."""
        wanted = role or self.role
        if wanted in self.writes_code_overrides:
            return self.writes_code_overrides[wanted]
        model = self.model(wanted)
        return bool(model is not None and model.writes_code)


@dataclass(frozen=True, slots=True)
class CodeSwitch:
    """The option by which a strategy runs model-written code (recursive's ``mode``): ``on`` runs it,
    ``off`` never does (any other value, e.g. ``auto``, may); a server without ``--allow-code`` sets ``off``."""

    option: str
    on: str
    off: str


#: model calls a strategy needs, given its options and the calls of the strategies in its slots
CallCount = Callable[[Mapping[str, Any], Mapping[str, int]], int]
#: spec options (plain data) -> keyword arguments of the strategy class, for the running models
Prepare = Callable[[dict[str, Any], BuildContext], dict[str, Any]]


@dataclass(frozen=True)
class StrategyEntry:
    """A registered strategy (see the module docs)."""

    name: str
    factory: Callable[..., Strategy]
    summary: str
    options: tuple[Option, ...] = ()
    slots: tuple[Slot, ...] = ()
    #: the field of ``factory`` that holds the verifier (spec key: always ``verifier``), if any
    verifier_field: str | None = None
    verifier_help: str = ""
    takes_tools: bool = False
    #: it takes tools but runs without any too (recursive: tools callable from the REPL)
    tools_optional: bool = False
    memory: bool = False
    #: it reads a long input (a run's ``context`` file or text); a context implies it
    reads_context: bool = False
    #: it keeps its state across questions in a named, stored session (``--session NAME``)
    keeps_session: bool = False
    #: the option by which it runs model-written code, if it can
    runs_code: CodeSwitch | None = None
    stop_state: StopState | None = None
    calls: CallCount | None = None
    prepare: Prepare | None = None
    #: the spec options that ``prepare`` turned into other fields, read back from a built strategy
    describe: Callable[[Any], dict[str, Any]] | None = None
    #: the fields of the class that ``prepare`` fills (from options, the tools or the context)
    prepared: tuple[str, ...] = ()
    #: whether a built strategy, on this question, makes as many calls as its input needs (no default
    #: step limit then: recursive's count plan reads every record)
    unbounded: Callable[[Any, str], bool] | None = None
    #: the default step limit of a built strategy on this question, where it is more than ``calls`` says
    #: (recursive code mode: its turns and the sub-calls its code may make), or None
    steps_for: Callable[[Any, str], int | None] | None = None

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)

    def slot(self, name: str) -> Slot | None:
        return next((s for s in self.slots if s.name == name), None)

    def spec_keys(self) -> tuple[str, ...]:
        """Every key a spec node of this strategy may hold (besides ``strategy``)."""
        keys = [o.name for o in self.options] + [s.name for s in self.slots]
        if self.verifier_field is not None:
            keys.append("verifier")
        return tuple(keys)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_plain(value: Any) -> bool:
    """Whether ``value`` is JSON-plain (what a spec option may hold)."""
    return isinstance(value, _JSON_PLAIN)
