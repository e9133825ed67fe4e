"""One node of a run spec's strategy tree: a strategy name, its options, and the strategies in its slots.

As JSON a node is flat: ``{"strategy": "route", "slow": {"strategy":
"consistency", "samples": 8, "inner": {"strategy": "react"}}}``. Every key is
checked against the strategy's registry entry (see
:mod:`ponder.strategies.entry`): options are typed, a slot holds a node (or a
strategy name), ``verifier`` holds a verifier spec string (or
``{"spec": "agree:3", "extract": "lm"}``). Slots with a default strategy are
always filled in, so the tree shows every strategy the run builds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ConfigError
from ..strategies.entry import StrategyEntry, is_plain
from ..strategies.registry import entries
from ..strategies.registry import entry as registry_entry

Verifier = str | Mapping[str, Any]
#: the calls counted for a strategy whose entry does not count its own (and the least default step limit)
BASE_STEPS = 8


@dataclass(frozen=True)
class StrategySpec:
    """A strategy and its configuration, as plain data (see the module docs)."""

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)
    slots: Mapping[str, StrategySpec] = field(default_factory=dict)
    verifier: Verifier | None = None

    @property
    def entry(self) -> StrategyEntry:
        return registry_entry(self.name)

    # -- plain data ---------------------------------------------------------

    @classmethod
    def parse(cls, data: Any) -> StrategySpec:
        """A node from JSON data (a name or an object), checked against the registry; ConfigError if it is wrong."""
        if isinstance(data, StrategySpec):
            return data
        if isinstance(data, str):
            data = {"strategy": data}
        if not isinstance(data, Mapping) or not isinstance(data.get("strategy"), str):
            raise ConfigError(f'a strategy must be a name or an object with a "strategy" key, got {data!r}')
        name = data["strategy"].strip()
        registry_entry(name)  # an unknown strategy is refused here, whatever keys it has
        node = cls(name)
        for key, value in data.items():
            if key != "strategy":
                node = node._with(key, value)
        return node._filled()

    def _with(self, key: str, value: Any) -> StrategySpec:
        """A copy with ``key`` set on this node, checked as the entry declares it (once: the rest is kept)."""
        entry = self.entry
        option, slot = entry.option(key), entry.slot(key)
        if option is not None:
            return replace(self, options={**self.options, key: option.check(self.name, value)})
        if slot is not None:
            slots = {name: child for name, child in self.slots.items() if name != key}
            if value is not None:
                slots[key] = StrategySpec.parse(value)
            return replace(self, slots=slots)
        if key == "verifier" and entry.verifier_field is not None:
            return replace(self, verifier=_verifier(self.name, value))
        takes = ", ".join(entry.spec_keys()) or "no options"
        raise ConfigError(f"strategy {self.name!r} takes no option {key!r} (it takes: {takes})")

    def _filled(self) -> StrategySpec:
        """This node with the slots that have a default filled in, in the entry's slot order."""
        slots = dict(self.slots)
        for slot in self.entry.slots:
            if slot.name not in slots and slot.default is not None:
                slots[slot.name] = StrategySpec(slot.default)
        return replace(self, slots={s.name: slots[s.name] for s in self.entry.slots if s.name in slots})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"strategy": self.name, **self.options}
        if self.verifier is not None:
            out["verifier"] = self.verifier if isinstance(self.verifier, str) else dict(self.verifier)
        for name, child in self.slots.items():
            out[name] = child.to_dict()
        return out

    # -- the tree -----------------------------------------------------------

    def walk(self) -> Iterator[StrategySpec]:
        """This node and every node below it, outermost first (breadth-first)."""
        level: list[StrategySpec] = [self]
        while level:
            yield from level
            level = [child for node in level for child in node.slots.values()]

    def names(self) -> list[str]:
        """The strategy names of the tree, outermost first (``route + consistency + react``)."""
        return [node.name for node in self.walk()]

    def takes_tools(self) -> bool:
        return any(node.entry.takes_tools for node in self.walk())

    def needs_tools(self) -> bool:
        """Whether some strategy of the tree cannot run without tools (react; not recursive's REPL)."""
        return any(node.entry.takes_tools and not node.entry.tools_optional for node in self.walk())

    def calls(self) -> int | None:
        """The model calls this configuration needs (its entry's count), or None when the entry has no count."""
        children = {}
        for name, child in self.slots.items():
            count = child.calls()
            children[name] = BASE_STEPS if count is None else count
        counter = self.entry.calls
        options = {**self.options, "verifier": self.verifier} if self.verifier is not None else self.options
        return counter(options, children) if counter is not None else None

    def with_option(self, key: str, value: Any) -> StrategySpec:
        """A copy with option (or slot, or verifier) ``key`` set on this node."""
        return self._with(key, value)._filled()

    def place(self, key: str, value: Any) -> StrategySpec | None:
        """A copy with ``key`` set on the outermost node (breadth-first) whose strategy declares it, or None."""
        path = self.path_to(key)
        return None if path is None else self._set(path, key, value)

    def path_to(self, key: str) -> tuple[str, ...] | None:
        """The slot path of the outermost node (breadth-first) that declares ``key``, or None."""
        level: list[tuple[tuple[str, ...], StrategySpec]] = [((), self)]
        while level:
            for path, node in level:
                if key in node.entry.spec_keys():
                    return path
            level = [((*path, slot), child) for path, node in level for slot, child in node.slots.items()]
        return None

    def _set(self, path: tuple[str, ...], key: str, value: Any) -> StrategySpec:
        if not path:
            return self.with_option(key, value)
        slot, rest = path[0], path[1:]
        changed = self.slots[slot]._set(rest, key, value)
        return StrategySpec(self.name, self.options, {**self.slots, slot: changed}, self.verifier)


def strategies_that(capability: str) -> list[str]:
    """The registered strategies whose entry has ``capability`` (``reads_context``, ``keeps_session``), in order."""
    return [found.name for found in entries().values() if getattr(found, capability)]


def has_capability(name: Any, capability: str) -> bool:
    """Whether ``name`` names a registered strategy with ``capability`` (False for anything else: a client's
    unknown name is refused later, where the tree is parsed)."""
    return isinstance(name, str) and name.strip() in strategies_that(capability)


def _verifier(strategy: str, value: Any) -> Verifier:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, Mapping) and isinstance(value.get("spec"), str):
        extra = {k: v for k, v in value.items() if k != "spec"}
        if not all(is_plain(v) for v in extra.values()):
            raise ConfigError(f"{strategy}: verifier options must be plain values, got {extra!r}")
        return dict(value)
    raise ConfigError(f'{strategy}: verifier must be a spec string (e.g. "judge") or {{"spec": ...}}, got {value!r}')
