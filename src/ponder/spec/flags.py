"""Command-line flags to a :class:`RunSpec`: how ``ponder ask`` (and later shells) describe a run.

The run flags (``--model``, ``--max-steps``, ``--tools``, ...) set the spec's
fields. The strategy flags come from the registry (:func:`strategy_flags`):
each one sets an option, a slot or the verifier of the **outermost** strategy
of the tree that declares it, so ``--strategy route --samples 3`` sets the
samples of route's slow ``consistency``; a flag no strategy of the tree
declares is an error. With a base spec (``--spec FILE``) only the flags the
user gave override it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..engine.prices import PriceTable
from ..errors import ConfigError
from ..strategies.entry import Option, Slot
from ..strategies.registry import entries
from .build import place_slots
from .node import StrategySpec
from .run import RunSpec, implied_strategy


@dataclass(frozen=True)
class StrategyFlag:
    """One ``ponder ask`` flag generated from the registry: the spec key it sets and who declares it."""

    flag: str
    key: str
    #: the first declaration (its type and choices make the click option)
    declared: Option | Slot | None
    help: str

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


def strategy_flags() -> list[StrategyFlag]:
    """Every strategy flag of the registered strategies, merged by flag (helps joined)."""
    found: dict[str, StrategyFlag] = {}
    for entry in entries().values():
        declared: list[tuple[str, str, Option | Slot | None, str]] = [
            (o.flag, o.name, o, o.help) for o in entry.options if o.flag
        ] + [(s.flag, s.name, s, s.help) for s in entry.slots if s.flag]
        if entry.verifier_field is not None:
            declared.append(("--verifier", "verifier", None, entry.verifier_help))
        for flag, key, decl, help_ in declared:
            known = found.get(flag)
            if known is None:
                found[flag] = StrategyFlag(flag, key, decl, help_)
            elif help_ and help_ not in known.help:
                found[flag] = StrategyFlag(flag, key, known.declared, f"{known.help} {help_}".strip())
    return list(found.values())


def spec_from_flags(values: Mapping[str, Any], given: set[str], base: RunSpec | None = None) -> RunSpec:
    """The spec the flags describe (see the module docs).

    ``values`` holds every flag by its parameter name (strategy flags by their
    :attr:`StrategyFlag.dest`); ``given`` names the flags the user gave. Without
    ``base`` every value counts (the defaults of ``ponder ask`` included).
    """

    def wants(name: str) -> bool:
        return base is None or name in given

    data = (base or RunSpec()).to_dict()
    if values.get("question") is not None:
        data["question"] = values["question"]
    roles = {"root": "model_spec", "sub": "sub_model", "fast": "fast_model", "judge": "judge_model"}
    for role, name in roles.items():
        if values.get(name) is not None and (wants(name) or role != "root"):
            data["models"][role] = {"model": values[name]}
    if values.get("depth_models") and wants("depth_models"):
        for item in values["depth_models"]:
            level, sep, model = str(item).partition("=")
            if not sep or not level.strip().isdigit() or int(level) < 1 or not model.strip():
                raise ConfigError(f"--depth-model takes N=MODEL with N >= 1 (e.g. 2=openai:small), got {item!r}")
            data["models"][f"depth:{int(level)}"] = {"model": model.strip()}
    if values.get("base_url") is not None and wants("base_url"):
        for model in data["models"].values():
            model["base_url"] = values["base_url"]
    for flag in ("server_kind", "context_window"):  # every server model of the run (the only one, usually)
        if values.get(flag) is not None and wants(flag):
            for role, model in data["models"].items():
                if flag == "context_window" or role == "root" or str(model.get("model", "")).startswith("openai:"):
                    model[flag] = values[flag]
    budget = data["budget"]
    limits = (
        ("max_calls", "max_model_calls"),
        ("max_total_tokens", "max_tokens"),
        ("max_seconds", None),
        ("max_usd", None),
    )
    for flag, key in limits:
        if wants(flag):
            budget[key or flag] = values.get(flag)
    if "max_steps" in given:
        budget["max_steps"] = values["max_steps"]
    for flag in ("temperature", "max_tokens", "seed"):
        if wants(flag) and values.get(flag) is not None:
            data["options"][flag] = values[flag]
    if wants("prices_path") and values.get("prices_path") is not None:
        data["prices"] = PriceTable.load(values["prices_path"]).to_dict()  # the table, kept with the run
    if wants("tool_spec"):
        data["tools"] = values.get("tool_spec") or ""
    if wants("context_path") and values.get("context_path") is not None:
        data["context"] = str(values["context_path"])
    if wants("memory_mode"):
        mode = values.get("memory_mode") or "off"
        data["memory"] = None if mode == "off" else {"mode": mode, "threshold": values.get("memory_threshold", 0.8)}
    if wants("stop"):
        data["stop"] = None if values.get("stop") in (None, "fixed") else values["stop"]
    if wants("store_path") and values.get("store_path") is not None:
        data["store"] = str(values["store_path"])
    if wants("no_store") and values.get("no_store"):
        data["record"] = False
    if wants("session") and values.get("session") is not None:
        data["session"] = values["session"]
    if wants("cache") and values.get("cache") is not None:
        data["cache"] = bool(values["cache"])
    if wants("trace_path") and values.get("trace_path") is not None:
        data["trace"] = str(values["trace_path"])
    if wants("strategy"):
        data["strategy"] = {"strategy": implied_strategy(values.get("strategy") or "single", data.get("context"))}
    tree = StrategySpec.parse(data["strategy"])
    data["strategy"] = _place_flags(tree, values, given, base is None).to_dict()
    return RunSpec.from_dict(data)


def _place_flags(tree: StrategySpec, values: Mapping[str, Any], given: set[str], all_count: bool) -> StrategySpec:
    wanted: dict[str, tuple[StrategyFlag, Any]] = {}
    for flag in strategy_flags():
        value = values.get(flag.dest)
        if value is None or (not all_count and flag.dest not in given):
            continue
        value = _flag_value(flag, value)
        if value is not None:
            wanted[flag.key] = (flag, value)
    extract = wanted.get("extract", (None, None))[1]
    shared = "verifier" in wanted and extract is not None and is_agreement(wanted["verifier"][1])
    if shared:
        wanted["verifier"] = (wanted["verifier"][0], {"spec": wanted["verifier"][1], "extract": extract})
    slots = {key: value for key, (flag, value) in wanted.items() if isinstance(flag.declared, Slot)}
    flag_of = {key: flag for key, (flag, _) in wanted.items()}
    tree = place_slots(tree, slots, lambda key: _unplaced(flag_of[key], tree))
    for key, (flag, value) in wanted.items():
        if key in slots:
            continue
        placed = tree.place(key, value)
        if placed is None:
            if isinstance(flag.declared, Option) and value == flag.declared.default:
                continue  # a flag given with its default changes nothing, even where no strategy takes it
            if key == "extract" and shared:
                continue  # the agreement check took it
            raise _unplaced(flag, tree)
        tree = placed
    if "seed" in given and values.get("seed") is not None:
        tree = tree.place("seed", values["seed"]) or tree  # the run's seed also seeds a sampler of the tree
    return tree


def _unplaced(flag: StrategyFlag, tree: StrategySpec) -> ConfigError:
    if isinstance(flag.declared, Option) and flag.declared.requires:
        return ConfigError(f"{flag.flag} needs {flag.declared.requires}")
    return ConfigError(f"{flag.flag} does not apply to {' + '.join(tree.names())}")


def is_agreement(verifier: Any) -> bool:
    """Whether a verifier spec string names the agreement check (which extracts answers too)."""
    return isinstance(verifier, str) and verifier.strip().lower().startswith(("agree", "agreement"))


def _flag_value(flag: StrategyFlag, value: Any) -> Any:
    declared = flag.declared
    if isinstance(declared, Option) and declared.flag_value is not None:
        return declared.flag_value if value else None
    return value
