"""Command-line flags to a :class:`RunSpec`: how ``ponder ask`` (and later shells) describe a run.

The run flags (``--model``, ``--max-steps``, ``--tools``, ...) set the spec's
fields, each as its declaration in :mod:`.run_flags` says. The strategy flags come from the registry (:func:`strategy_flags`):
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

from ..errors import ConfigError
from ..strategies.entry import Option, Slot, StrategyEntry
from ..strategies.registry import entries
from .build import place_slots
from .node import StrategySpec
from .run import RunSpec
from .run_flags import RUN_FLAGS


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
    for flag in (flag for entry in entries().values() for flag in _declared(entry)):
        known = found.get(flag.flag)
        if known is None:
            found[flag.flag] = flag
        elif flag.help and flag.help not in known.help:
            found[flag.flag] = StrategyFlag(flag.flag, flag.key, known.declared, f"{known.help} {flag.help}".strip())
    return list(found.values())


def _declared(entry: StrategyEntry) -> list[StrategyFlag]:
    """The flags one registry entry declares: its options', its slots' and its verifier's."""
    declared = [StrategyFlag(o.flag, o.name, o, o.help) for o in entry.options if o.flag]
    declared += [StrategyFlag(s.flag, s.name, s, s.help) for s in entry.slots if s.flag]
    if entry.verifier_field is not None:
        declared.append(StrategyFlag("--verifier", "verifier", None, entry.verifier_help))
    return declared


def spec_from_flags(values: Mapping[str, Any], given: set[str], base: RunSpec | None = None) -> RunSpec:
    """The spec the flags describe (see the module docs).

    ``values`` holds every flag by its parameter name (strategy flags by their
    :attr:`StrategyFlag.dest`); ``given`` names the flags the user gave. Without
    ``base`` every value counts (the defaults of ``ponder ask`` included). Each run
    flag is applied as its declaration says (:data:`~ponder.spec.run_flags.RUN_FLAGS`);
    the strategy flags are placed on the tree.
    """
    spec = base or RunSpec()
    data = {**spec.to_dict(), "strategy": spec.strategy}  # the tree stays a StrategySpec
    for flag in RUN_FLAGS:
        value = values.get(flag.name)
        if flag.applies(value, flag.name in given, base is not None):
            flag.put(data, value, values)
    data["strategy"] = _place_flags(data["strategy"], values, given, base is None)
    return RunSpec.from_dict(data)


def _place_flags(tree: StrategySpec, values: Mapping[str, Any], given: set[str], all_count: bool) -> StrategySpec:
    wanted = _wanted(values, given, all_count)
    shared = _share_extract(wanted)
    slots = {key: value for key, (flag, value) in wanted.items() if isinstance(flag.declared, Slot)}
    flag_of = {key: flag for key, (flag, _) in wanted.items()}
    tree = place_slots(tree, slots, lambda key: _unplaced(flag_of[key], tree))
    for key, (flag, value) in wanted.items():
        if key not in slots:
            tree = _place(tree, flag, value, shared)
    if "seed" in given and values.get("seed") is not None:
        tree = tree.place("seed", values["seed"]) or tree  # the run's seed also seeds a sampler of the tree
    return tree


def _wanted(values: Mapping[str, Any], given: set[str], all_count: bool) -> dict[str, tuple[StrategyFlag, Any]]:
    """The strategy flags that count, by spec key, with their values."""
    wanted: dict[str, tuple[StrategyFlag, Any]] = {}
    for flag in strategy_flags():
        value = values.get(flag.dest)
        if value is not None and (all_count or flag.dest in given):
            value = _flag_value(flag, value)
            if value is not None:
                wanted[flag.key] = (flag, value)
    return wanted


def _share_extract(wanted: dict[str, tuple[StrategyFlag, Any]]) -> bool:
    """Give ``--extract`` to an agreement ``--verifier`` too (it extracts answers); whether it did."""
    extract = wanted.get("extract", (None, None))[1]
    if "verifier" not in wanted or extract is None or not is_agreement(wanted["verifier"][1]):
        return False
    flag, verifier = wanted["verifier"]
    wanted["verifier"] = (flag, {"spec": verifier, "extract": extract})
    return True


def _place(tree: StrategySpec, flag: StrategyFlag, value: Any, shared: bool) -> StrategySpec:
    placed = tree.place(flag.key, value)
    if placed is not None:
        return placed
    if isinstance(flag.declared, Option) and value == flag.declared.default:
        return tree  # a flag given with its default changes nothing, even where no strategy takes it
    if flag.key == "extract" and shared:
        return tree  # the agreement check took it
    raise _unplaced(flag, tree)


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
