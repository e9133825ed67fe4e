"""The run flags as data: one :class:`RunFlag` per flag of ``ponder ask`` and ``ponder eval``.

A declaration says where the flag's value goes in the run spec (``to``, a path into the spec's plain
data, and ``put``, which sets it there), how the command line parses it (``shape``, bounds, choices,
default, help), and when it counts (``counts``: a flag left at its default counts only without a
``--spec`` base). :func:`~ponder.spec.spec_from_flags` applies them in a loop; the CLI
(:mod:`ponder.cli.spec_options`) makes its options from them; ``ponder eval`` drops the ``specific``
ones from the specs they do not apply to; each destination has its access (who may set it: the server's
allowlist, :mod:`ponder.spec.access`), looked up by :func:`access_of`.

The strategy flags (``--samples``, ``--inner``, ...) are declared by the strategies' registry entries
(:func:`~ponder.spec.flags.strategy_flags`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..access import Access
from ..engine.budget import MAX_USD
from ..engine.prices import PriceTable
from ..errors import ConfigError
from ..guards.numbers import MAX_SECONDS
from ..models.registry import DEFAULT_MODEL
from ..models.servers import SERVER_KINDS
from . import access
from .node import StrategySpec
from .run import implied_strategy

#: how the command line reads a value: text, several texts (repeatable), a whole number, a finite number,
#: one of ``choices``, a value-less switch, an existing file, an existing file or folder, a file to write
Shape = Literal["text", "texts", "whole", "number", "choice", "switch", "file", "path", "output"]
#: when a value counts: ``set`` (given, or any value without a base; never None), ``any`` (as set, and None
#: clears the field), ``on`` (as set, when true), ``given`` (only when given), ``present`` (whenever not None)
Counts = Literal["set", "any", "on", "given", "present"]
#: sets a parsed value at its destination in the spec's plain data (``values``: every flag's value)
Put = Callable[[dict[str, Any], Any, Mapping[str, Any]], None]


@dataclass(frozen=True)
class RunFlag:
    """One run flag (see the module docs); ``name`` is the key of its value (click's parameter name)."""

    name: str
    #: the command-line spellings, long first (``("--model", "-m")``); () for the question
    flags: tuple[str, ...]
    #: where the value goes, as a path into the spec's plain data (``budget.max_model_calls``; ``*``: every entry)
    to: str
    put: Put
    help: str = ""
    shape: Shape = "text"
    default: Any = None
    show_default: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    open_min: bool = False
    metavar: str | None = None
    counts: Counts = "set"
    #: it applies to some strategies only (``ponder eval`` leaves it out of the other specs)
    specific: bool = False
    #: part of every run command's options (False: a command's own: the question, ``--strategy``, ``--session``)
    shared: bool = True

    def applies(self, value: Any, given: bool, over_base: bool) -> bool:
        """Whether ``value`` (``given`` by the user or not) changes the spec, over a base spec or not."""
        wanted = given or not over_base
        if self.counts == "given":
            return given
        if self.counts == "present":
            return value is not None
        if self.counts == "on":
            return wanted and bool(value)
        return wanted and (self.counts == "any" or value is not None)


def _at(path: str, parse: Callable[[Any], Any] = lambda value: value) -> Put:
    """A :data:`Put` that sets ``parse(value)`` at ``path``."""
    *parents, last = path.split(".")

    def put(data: dict[str, Any], value: Any, values: Mapping[str, Any]) -> None:
        for key in parents:
            data = data.setdefault(key, {})
        data[last] = parse(value)

    return put


def _every_model(key: str, remote_only: bool = False) -> Put:
    """Set ``key`` on every model of the run (``remote_only``: the root model and ``openai:`` models)."""

    def put(data: dict[str, Any], value: Any, values: Mapping[str, Any]) -> None:
        for role, model in data["models"].items():
            if not remote_only or role == "root" or str(model.get("model", "")).startswith("openai:"):
                model[key] = value

    return put


def _depth_models(data: dict[str, Any], value: Any, values: Mapping[str, Any]) -> None:
    for item in value:
        level, sep, model = str(item).partition("=")
        if not sep or not level.strip().isdigit() or int(level) < 1 or not model.strip():
            raise ConfigError(f"--depth-model takes N=MODEL with N >= 1 (e.g. 2=openai:small), got {item!r}")
        data["models"][f"depth:{int(level)}"] = {"model": model.strip()}


def _memory(data: dict[str, Any], value: Any, values: Mapping[str, Any]) -> None:
    mode = value or "off"
    data["memory"] = None if mode == "off" else {"mode": mode, "threshold": values.get("memory_threshold", 0.8)}


def _memory_threshold(data: dict[str, Any], value: Any, values: Mapping[str, Any]) -> None:
    if data.get("memory") is not None:
        data["memory"]["threshold"] = value


def _strategy(data: dict[str, Any], value: Any, values: Mapping[str, Any]) -> None:
    data["strategy"] = StrategySpec.parse(implied_strategy(value or "single", data.get("context")))


def _model(role: str) -> Put:
    return _at(f"models.{role}", lambda name: {"model": name})


_MODEL_HELP = "smollm2, coder, gguf:PATH, hf:REPO/FILE, openai:MODEL or scripted."
_STORE_HELP = (
    "Run store: a SQLite file or a postgresql:// URL (default: $PONDER_STORE, else"
    " $XDG_DATA_HOME/ponder/runs.db or ~/.local/share/ponder/runs.db)."
)

#: every run flag, in the order of ``ponder ask --help`` (a flag that reads another's destination comes after it)
# fmt: off
RUN_FLAGS: tuple[RunFlag, ...] = (
    RunFlag("question", (), "question", _at("question"), counts="present", shared=False),
    RunFlag("model_spec", ("--model", "-m"), "models.root", _model("root"), _MODEL_HELP, default=DEFAULT_MODEL,
            show_default=True),
    RunFlag("sub_model", ("--sub-model",), "models.sub", _model("sub"),
            "Model of recursive sub-calls (default: --model). " + _MODEL_HELP, counts="present"),
    RunFlag("depth_models", ("--depth-model",), "models.depth:N", _depth_models,
            "Model of recursive sub-calls N levels below the root (depth:N in a spec; over --sub-model). Repeatable.",
            shape="texts", metavar="N=MODEL"),
    RunFlag("fast_model", ("--fast-model",), "models.fast", _model("fast"),
            "Model of route's fast path (default: --model).", counts="present"),
    RunFlag("judge_model", ("--judge-model",), "models.judge", _model("judge"),
            "Model of LM verifiers, tree evaluations and judges (default: --model).", counts="present"),
    RunFlag("base_url", ("--base-url",), "models.*.base_url", _every_model("base_url"),
            "Base URL of an OpenAI-compatible server (default: $OPENAI_BASE_URL)."),
    RunFlag("server_kind", ("--server-kind",), "models.*.server_kind", _every_model("server_kind", remote_only=True),
            "What the server at --base-url is (default auto: probed once): grammars, tool calls and windows follow it.",
            shape="choice", choices=SERVER_KINDS),
    RunFlag("context_window", ("--context-window",), "models.*.context_window", _every_model("context_window"),
            "The model's window in tokens where the server reports none (default: reported, else 8192).",
            shape="whole", minimum=16, maximum=1 << 30),
    RunFlag("max_steps", ("--max-steps",), "budget.max_steps", _at("budget.max_steps"),
            "Most model-call steps in the run (default: what the strategy needs, at least 8).", shape="whole",
            minimum=1, counts="given"),
    RunFlag("max_calls", ("--max-calls",), "budget.max_model_calls", _at("budget.max_model_calls"),
            "Most model calls in the run.", shape="whole", minimum=1, counts="any"),
    RunFlag("max_total_tokens", ("--max-total-tokens",), "budget.max_tokens", _at("budget.max_tokens"),
            "Most prompt+completion tokens in the run.", shape="whole", minimum=1, counts="any"),
    RunFlag("max_seconds", ("--max-seconds",), "budget.max_seconds", _at("budget.max_seconds"), "Wall-clock limit.",
            shape="number", minimum=0, maximum=MAX_SECONDS, open_min=True, counts="any"),
    RunFlag("max_usd", ("--max-usd",), "budget.max_usd", _at("budget.max_usd"),
            "Most US dollars the run may spend (needs a price per model, --prices, or a server reporting usage.cost).",
            shape="number", minimum=0, maximum=MAX_USD, open_min=True, counts="any"),
    RunFlag("prices_path", ("--prices",), "prices", _at("prices", lambda path: PriceTable.load(path).to_dict()),
            "Prices per model (TOML or JSON, dollars per million prompt/completion/cached tokens): the run's cost.",
            shape="file"),
    RunFlag("max_tokens", ("--max-tokens",), "options.max_tokens", _at("options.max_tokens"),
            "Most tokens per model call.", shape="whole", minimum=1, default=384, show_default=True),
    RunFlag("temperature", ("--temperature", "-t"), "options.temperature", _at("options.temperature"), shape="number",
            minimum=0, default=0.0, show_default=True),
    RunFlag("seed", ("--seed",), "options.seed", _at("options.seed"), shape="whole", default=0, show_default=True),
    RunFlag("tool_spec", ("--tools",), "tools", _at("tools", lambda items: items or ""),
            "Tools for react: calculator,python,search:DIR,http:HOST,mcp:FILE.", default="", counts="any",
            specific=True),
    RunFlag("cache", ("--cache",), "cache", _at("cache", bool),
            "Reuse the completions of identical deterministic calls from earlier runs (kept in the run store).",
            shape="switch", default=False),
    RunFlag("trace_path", ("--trace",), "trace", _at("trace", str), "Write the run's events as JSON lines to FILE.",
            shape="output"),
    RunFlag("context_path", ("--context",), "context", _at("context", str),
            "A file or folder the question is about (read lazily; implies --strategy recursive).", shape="path"),
    RunFlag("store_path", ("--store",), "store", _at("store", str), _STORE_HELP, metavar="FILE|URL"),
    RunFlag("no_store", ("--no-store",), "record", _at("record", lambda on: False),
            "Do not record the run in the run store.", shape="switch", default=False, counts="on"),
    RunFlag("stop", ("--stop",), "stop", _at("stop", lambda policy: None if policy in (None, "fixed") else policy),
            "refine, consistency: fixed (its own rules, the default) or learned:PATH (a fitted stop policy).",
            metavar="POLICY", counts="any", specific=True),
    RunFlag("memory_mode", ("--memory",), "memory", _memory,
            "react/refine: fold older steps into a summary (a model call) or clipped notes.", shape="choice",
            choices=("off", "summary", "notes"), default="off", show_default=True, counts="any", specific=True),
    RunFlag("memory_threshold", ("--memory-threshold",), "memory.threshold", _memory_threshold,
            "With --memory: compact when the prompt passes this share of the model's window.", shape="number",
            minimum=0, maximum=1, open_min=True, default=0.8, show_default=True, specific=True),
    RunFlag("session", ("--session",), "session", _at("session"),
            "recursive code mode: keep the REPL and its variables across questions in session NAME (stored).",
            metavar="NAME", shared=False),
    RunFlag("strategy", ("--strategy", "-s"), "strategy", _strategy, "The strategy (a context implies recursive).",
            default="single", counts="any", shared=False),
)
# fmt: on

BY_NAME: dict[str, RunFlag] = {flag.name: flag for flag in RUN_FLAGS}


def access_of(flag: RunFlag) -> Access:
    """Who may set ``flag``'s destination (a client of the server or only the operator; see :mod:`.access`)."""
    head, _, rest = flag.to.partition(".")
    parts = {"budget": access.BUDGET, "options": access.OPTIONS, "memory": access.MEMORY}
    table = parts.get(head)
    return table[rest] if table is not None and rest else access.RUN[head]
