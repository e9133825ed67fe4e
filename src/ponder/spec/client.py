"""A client's run spec, built only from what the operator allowed: the allowlist of ``ponder serve``.

:func:`client_spec` takes a **partial** run spec from a client (the JSON of a request: ``strategy`` as a
name or a tree, ``question``, ``history``, ``context_text``, ``options``, ``budget``, ``memory``,
``models``, and any strategy option by name, placed on the outermost strategy that declares it) and the
operator's :class:`OperatorPolicy`, and returns the :class:`~ponder.spec.RunSpec` to run. It starts from
the operator's own spec (its model, tools, store, limits) and lets a client set only what is declared
client-safe (:mod:`ponder.access`), at every depth of the strategy tree:

* a run field the operator owns (``store``, ``trace``, ``context``, ``tools``, ``stop``, ...), a strategy
  option declared operator-only (``context_path``, ``rlm_concurrency``), or one declared by nobody (a
  plugin's, until it declares) is refused, naming the field;
* every count is checked against its client bound (``Option.client_max``; ``agree:K``); the budget may be
  smaller than the operator's limits, not larger; a grammar is read as llama.cpp reads it
  (:mod:`ponder.grammar.check`), a pattern compiled with a time bound (:mod:`ponder.guards.patterns`);
* a verifier, an extraction and a model are chosen from what the operator allowed: the client-safe kinds,
  plus what ``--allow-verifier`` / ``--allow-model`` opened; recursive code mode (model-written code in the
  sandbox) only with ``--allow-code``, else ``auto`` means plan mode.

Every refusal is a :class:`ClientSpecError` whose ``field`` names the field (``strategy.inner.
context_path``, ``options.grammar``, ``verifier``); the server answers it with a 400 in the OpenAI shape.
The HTTP routes of ``ponder serve`` (and any other shell that takes run specs from strangers) call this one
function.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..access import CLIENT
from ..errors import ConfigError, PonderError
from ..extract import ACCESS as EXTRACT_ACCESS
from ..grammar.check import check_grammar
from ..guards.patterns import user_pattern
from ..strategies.registry import entries
from ..types import GenerationOptions
from ..verifiers.specs import ACCESS as VERIFIER_ACCESS
from ..verifiers.specs import CLIENT_AGREE, verifier_kind
from . import access
from .build import place_slots
from .node import StrategySpec
from .run import FIELD_ALIASES, RunSpec

#: how deep a client's JSON may nest anywhere in a strategy tree (objects and lists)
MAX_JSON_DEPTH = 24
#: the verifier kinds whose argument is a file: opened only as an exact spec (tests:/srv/tests.py)
FILE_VERIFIERS = ("grounded", "tests")
#: the options an ``{"spec": "agree:K", ...}`` verifier object may hold
_AGREE_KEYS = frozenset({"spec", "extract", "threshold", "temperature", "seed", "samples"})
#: the client's run fields taken as they are (checked by the spec): the rest have their own checks below
_COPIED = tuple(k for k, a in access.RUN.items() if a == CLIENT and k not in ("strategy", "budget", "options"))


class ClientSpecError(ConfigError):
    """A field of a client's partial spec that the operator's policy refuses; ``field`` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class OperatorPolicy:
    """What the operator allows a client (see the module docs). ``base`` is the operator's own run: its
    models (by role, with the base URL), store, budget (its ``max_seconds`` the longest a client gets) and
    concurrency; ``tools``: the ``--tools`` items a run gets when its strategy takes tools."""

    base: RunSpec = field(default_factory=lambda: RunSpec(record=False))
    tools: tuple[str, ...] = ()
    #: backend specs a client may name besides the base's root model; ``openai:*``: any model of the upstream
    models: tuple[str, ...] = ()
    #: operator-only verifiers opened to clients: a kind without a file (``python``) or an exact spec
    #: (``tests:/srv/tests.py``, ``grounded:/srv/facts.txt``)
    verifiers: tuple[str, ...] = ()
    #: the extraction kinds a client may choose
    extractors: tuple[str, ...] = tuple(k for k, a in EXTRACT_ACCESS.items() if a == CLIENT)
    #: recursive code mode (model-written code in the sandbox)
    allow_code: bool = False
    #: the most model calls one request's run may make (its budget's ``max_model_calls``)
    max_model_calls: int = 512
    #: the most steps (model and tool calls) of one run
    max_steps: int = 2048
    #: the most tokens one model call may generate
    max_tokens: int = 4096
    #: the most tokens a run may use in all (None: no limit beyond calls and time)
    max_total_tokens: int | None = None
    #: how deep child runs may nest (the budget's ``max_depth``)
    max_depth: int = 3
    #: how many strategies deep a client's tree may be (route > consistency > verify > react: 4)
    max_nesting: int = 5
    #: the longest grammar (characters), and the most stop strings
    max_grammar: int = 4000
    max_stop: int = 4

    def __post_init__(self) -> None:
        for spec in self.verifiers:
            kind = verifier_kind(spec)
            if kind not in VERIFIER_ACCESS:
                raise ConfigError(f"--allow-verifier {spec}: unknown verifier (known: {', '.join(VERIFIER_ACCESS)})")
            if kind in FILE_VERIFIERS and ":" not in spec:
                raise ConfigError(f"--allow-verifier {spec} needs its file ({kind}:FILE): a client may not name one")
        for kind in self.extractors:
            if kind not in EXTRACT_ACCESS:
                raise ConfigError(f"unknown extraction kind {kind!r} (known: {', '.join(EXTRACT_ACCESS)})")

    def allows_model(self, model: str) -> bool:
        """Whether a client may name backend ``model``: the base's, one listed, or one under a listed ``PREFIX*``."""
        allowed = (self.base.model().model, *self.models)
        return any(model == a or (a.endswith("*") and model.startswith(a[:-1])) for a in allowed)


def client_spec(partial: Mapping[str, Any], policy: OperatorPolicy) -> RunSpec:
    """The run a client's ``partial`` spec asks for, within ``policy`` (see the module docs)."""
    if not isinstance(partial, Mapping):
        raise ClientSpecError("a run spec from a client must be an object", "")
    data = policy.base.to_dict()
    by_name: dict[str, Any] = {}
    for key, value in partial.items():
        name = FIELD_ALIASES.get(key, key)  # a field's old name is refused or taken as the field
        if name not in access.RUN:
            by_name[str(key)] = value
        elif access.RUN[name] != CLIENT and name != "models":
            raise ClientSpecError(f"{key} is set by the server's operator, not by a request", key)
        _depth(value, key)
    if "models" in partial:
        data["models"] = _models(partial["models"], policy)
    tree = _tree(partial.get("strategy", data["strategy"]), by_name, policy)
    data["strategy"] = tree.to_dict()
    data["tools"] = list(policy.tools) if tree.takes_tools() else []
    data["budget"] = _budget(data["budget"], partial.get("budget"), policy)
    data["options"] = _options(data["options"], partial.get("options"), policy)
    for key in _COPIED:
        if key in partial:
            data[key] = partial[key]
    try:
        return RunSpec.from_dict(data)
    except ClientSpecError:
        raise
    except PonderError as exc:
        raise ClientSpecError(str(exc), "") from None


# -- the strategy tree ------------------------------------------------------------------------------


def _tree(strategy: Any, by_name: Mapping[str, Any], policy: OperatorPolicy) -> StrategySpec:
    try:
        tree = StrategySpec.parse(strategy)
    except PonderError as exc:
        raise ClientSpecError(str(exc), _locate(strategy, "strategy")) from None
    slot_names = {s.name for e in entries().values() for s in e.slots}
    slots = {k: v for k, v in by_name.items() if k in slot_names}
    try:
        tree = place_slots(tree, slots, lambda key: ClientSpecError(_unplaced(key, tree), key))
    except ClientSpecError:
        raise
    except PonderError as exc:
        raise ClientSpecError(str(exc), "strategy") from None
    for key, value in by_name.items():
        if key in slots:
            continue
        path = tree.path_to(key)
        if path is None:
            raise ClientSpecError(_unplaced(key, tree), key)
        try:
            tree = tree.place(key, value) or tree
        except PonderError as exc:
            raise ClientSpecError(str(exc), ".".join(("strategy", *path, key))) from None
    return _checked(tree, ("strategy",), policy, 1)


def _locate(data: Any, path: str) -> str:
    """The path of the field of a strategy tree's JSON that :meth:`StrategySpec.parse` refused (else ``path``)."""
    if not isinstance(data, Mapping):
        return path
    try:
        entry = entries()[str(data.get("strategy"))]
    except KeyError:
        return path
    for key, value in data.items():
        option, slot = entry.option(str(key)), entry.slot(str(key))
        if option is not None:
            try:
                option.check(entry.name, value)
            except ConfigError:
                return f"{path}.{key}"
        elif slot is not None and value is not None:
            try:
                StrategySpec.parse(value)
            except PonderError:
                return _locate(value, f"{path}.{key}")
        elif key not in ("strategy",):
            return f"{path}.{key}"
    return path


def _unplaced(key: str, tree: StrategySpec) -> str:
    return f"{key} does not apply to {' + '.join(tree.names())}"


def _checked(node: StrategySpec, path: tuple[str, ...], policy: OperatorPolicy, level: int) -> StrategySpec:
    """``node`` with every option, slot and verifier a client set checked against its declaration."""
    if level > policy.max_nesting:
        raise ClientSpecError(f"the strategy tree is deeper than {policy.max_nesting} strategies", ".".join(path))
    entry = node.entry
    options = dict(node.options)
    for key, value in node.options.items():
        where = ".".join((*path, key))
        option = entry.option(key)
        assert option is not None  # parse checked the key
        if option.access != CLIENT:
            raise ClientSpecError(f"{node.name}: {key} is set by the server's operator, not by a request", where)
        try:
            option.check(node.name, value, client=True)
            if key == "extract" and isinstance(value, str):
                _extraction(value, policy)
        except ConfigError as exc:
            raise ClientSpecError(str(exc), where) from None
    switch = entry.runs_code
    if switch is not None and not policy.allow_code:
        if options.get(switch.option) == switch.on:
            raise ClientSpecError(
                f"{node.name} {switch.on} {switch.option} runs model-written code, which this server does not allow"
                " (ponder serve --allow-code)",
                ".".join((*path, switch.option)),
            )
        options[switch.option] = switch.off  # auto would pick code mode for a model that writes code
    if node.verifier is not None:
        _verifier(node.verifier, policy, ".".join((*path, "verifier")))
    slots: dict[str, StrategySpec] = {}
    for name, child in node.slots.items():
        slot = entry.slot(name)
        assert slot is not None
        if slot.access != CLIENT and child != StrategySpec.parse(slot.default or child.name):
            raise ClientSpecError(f"{node.name}: {name} is set by the server's operator", ".".join((*path, name)))
        slots[name] = _checked(child, (*path, name), policy, level + 1)
    return StrategySpec(node.name, options, slots, node.verifier)


def _extraction(spec: str, policy: OperatorPolicy) -> None:
    kind = spec.partition(":")[0].strip()
    if kind not in policy.extractors:
        raise ConfigError(f"the extraction {kind!r} is not allowed here (allowed: {', '.join(policy.extractors)})")
    if kind == "regex":
        user_pattern(spec.removeprefix("regex:"), "extraction pattern")


def _verifier(value: Any, policy: OperatorPolicy, where: str) -> None:
    spec = value if isinstance(value, str) else str(value.get("spec", ""))
    extra = {} if isinstance(value, str) else {k: v for k, v in value.items() if k != "spec"}
    kind = verifier_kind(spec)
    if kind not in VERIFIER_ACCESS:
        raise ClientSpecError(f"unknown verifier {spec!r} (known: {', '.join(VERIFIER_ACCESS)})", where)
    opened = kind in policy.verifiers or spec.strip() in policy.verifiers
    if VERIFIER_ACCESS[kind] != CLIENT and not opened:
        raise ClientSpecError(
            f"the verifier {kind!r} reads the server's files or runs code: the operator opens it"
            f" (ponder serve --allow-verifier {kind if kind not in FILE_VERIFIERS else kind + ':FILE'})",
            where,
        )
    if kind in FILE_VERIFIERS and spec.strip() not in policy.verifiers:
        raise ClientSpecError(f"the verifier {kind!r} is opened only as {kind}:FILE with the operator's file", where)
    try:
        if kind == "agree":
            unknown = sorted(set(extra) - _AGREE_KEYS)
            if unknown:
                raise ConfigError(f"agree takes no option {unknown[0]!r}")
            parts = [p for p in spec.partition(":")[2].split(":") if p.strip()]
            counts: list[Any] = [extra.get("samples"), *parts[:1]]
            for count in counts:
                if count is not None and (not str(count).strip().isdigit() or int(str(count)) > CLIENT_AGREE):
                    raise ConfigError(f"agree: K must be a whole number of at most {CLIENT_AGREE}, got {count}")
            if isinstance(extra.get("extract"), str):
                _extraction(extra["extract"], policy)
        elif extra:
            raise ConfigError(f"the verifier {kind!r} takes no options, got {sorted(extra)[0]!r}")
        if kind in ("regex", "contains"):
            text = spec.partition(":")[2]
            if len(text) > 1000:
                raise ConfigError(f"a {kind} verifier's text is at most 1000 characters")
            if kind == "regex":
                user_pattern(text, "verifier pattern")
    except ConfigError as exc:
        raise ClientSpecError(str(exc), where) from None


# -- the run's other parts ----------------------------------------------------------------------------


def _models(models: Any, policy: OperatorPolicy) -> dict[str, Any]:
    if not isinstance(models, Mapping):
        raise ClientSpecError("models must map a role to a model name", "models")
    out = {role: dict(spec) for role, spec in policy.base.to_dict()["models"].items()}
    base_url = policy.base.model().base_url
    for role, wanted in models.items():
        name = wanted.get("model") if isinstance(wanted, Mapping) else wanted
        if isinstance(wanted, Mapping) and set(wanted) - {"model"}:
            raise ClientSpecError("a client names a model only (its server and settings are the operator's)", "models")
        if not isinstance(name, str) or not policy.allows_model(name.strip()):
            raise ClientSpecError(f"the model {name!r} is not served here", f"models.{role}")
        out[str(role)] = {"model": name.strip(), "base_url": base_url}
    return out


def _budget(base: dict[str, Any], asked: Any, policy: OperatorPolicy) -> dict[str, Any]:
    asked = _part(asked, "budget", access.BUDGET)
    out = dict(base)
    limits: dict[str, float | None] = {
        "max_model_calls": policy.max_model_calls,
        "max_steps": policy.max_steps,
        "max_tokens": policy.max_total_tokens,
        "max_depth": policy.max_depth,
        "max_seconds": base.get("max_seconds"),
        "max_usd": base.get("max_usd"),
    }
    for key, value in asked.items():
        limit = limits[key]
        if key == "max_steps" and value == "auto":
            pass
        elif value is None:
            value = limit
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise ClientSpecError(f"budget.{key} must be a number, got {value!r}", f"budget.{key}")
        elif limit is not None and value > limit:
            raise ClientSpecError(
                f"budget.{key} may be at most {limit:g} on this server, got {value:g}", f"budget.{key}"
            )
        out[key] = value
    for key, limit in limits.items():
        if key not in asked and limit is not None and key not in ("max_seconds", "max_usd"):
            current = out.get(key)
            if current is None or (isinstance(current, int | float) and current > limit):
                out[key] = limit
    return out


def _options(base: dict[str, Any], asked: Any, policy: OperatorPolicy) -> dict[str, Any]:
    asked = _part(asked, "options", access.OPTIONS)
    out = dict(base)
    for key, value in asked.items():
        if key not in ("stop", "grammar"):
            try:
                GenerationOptions(**{key: value})
            except (ConfigError, TypeError) as exc:
                raise ClientSpecError(str(exc), f"options.{key}") from None
        out[key] = value
    tokens = out.get("max_tokens")
    if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens > policy.max_tokens:
        raise ClientSpecError(
            f"max_tokens may be at most {policy.max_tokens} on this server, got {tokens}", "options.max_tokens"
        )
    stop = out.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if isinstance(stop, list | tuple) and (
        len(stop) > policy.max_stop or any(not isinstance(s, str) or len(s) > 200 for s in stop)
    ):
        raise ClientSpecError(f"stop takes at most {policy.max_stop} strings of at most 200 characters", "options.stop")
    grammar = out.get("grammar")
    if grammar is not None:
        try:
            check_grammar(grammar, policy.max_grammar)
        except ConfigError as exc:
            raise ClientSpecError(str(exc), "options.grammar") from None
    return out


def _part(asked: Any, part: str, fields: Mapping[str, Any]) -> Mapping[str, Any]:
    """What a client asked of a part of the spec (``budget``, ``options``): an object of its declared fields."""
    if asked is None:
        return {}
    if not isinstance(asked, Mapping):
        raise ClientSpecError(f"{part} must be an object", part)
    for key in asked:
        if key not in fields:
            raise ClientSpecError(f"{part} has no field {key!r} (fields: {', '.join(fields)})", f"{part}.{key}")
    return asked


def _depth(value: Any, where: str) -> None:
    """Refuse JSON nested deeper than :data:`MAX_JSON_DEPTH` (checked without recursion)."""
    level: list[Any] = [value]
    for _ in range(MAX_JSON_DEPTH):
        level = [
            child
            for item in level
            if isinstance(item, Mapping | list)
            for child in (item.values() if isinstance(item, Mapping) else item)
        ]
        if not level:
            return
    raise ClientSpecError(f"{where} is nested more than {MAX_JSON_DEPTH} levels deep", where)
