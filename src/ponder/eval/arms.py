"""The specs an evaluation compares ("arms"): a name, a :class:`~ponder.spec.RunSpec`, and its hash.

An arm is identified by a hash of its spec (:func:`spec_hash`), so a rerun of
the same command finds the results it already has, and a changed flag starts
that arm afresh. ``ponder eval --strategy single,react --tools calculator``
gives each strategy the flags that apply to it: ``--tools`` goes to ``react``
only; a flag that applies to none of the strategies is an error.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..spec import RunSpec, spec_from_flags, strategy_flags
from ..spec.run_flags import RUN_FLAGS
from .data import Item

#: fields that say where a run is recorded, not what it does: left out of the hash
_WHERE = ("question", "store", "record", "trace", "context_fingerprint")


@dataclass(frozen=True)
class Arm:
    """One spec under evaluation."""

    name: str
    spec: RunSpec

    @property
    def hash(self) -> str:
        return spec_hash(self.spec)

    def for_item(self, item: Item) -> RunSpec:
        """The spec of one item's run: its question and context; not recorded by the run itself (the
        evaluation writes the run's events into its store, and keeps the completions of ``--cache`` there:
        see :class:`~ponder.eval.execute.Task`)."""
        spec = replace(self.spec, question=item.question, record=False, trace=None, store=None, cache=False)
        if item.context_path is not None:
            spec = replace(spec, context=item.context_path, context_text=None)
        elif item.context is not None:
            spec = replace(spec, context=None, context_text=item.context)
        return spec


def spec_hash(spec: RunSpec) -> str:
    """A short hash of what the spec does (not of where it is recorded)."""
    data = {k: v for k, v in spec.to_dict().items() if k not in _WHERE}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


def _specific() -> dict[str, tuple[str, Any]]:
    """The flags that belong to some strategies only: parameter name -> (flag, its "not given" value)."""
    out = {flag.name: (flag.flags[0], flag.default) for flag in RUN_FLAGS if flag.specific}
    for flag in strategy_flags():
        out[flag.dest] = (flag.flag, None)
    return out


def arms_from_flags(
    strategies: Sequence[str], spec_files: Sequence[Path], values: Mapping[str, Any], given: set[str]
) -> list[Arm]:
    """The arms of ``--strategy S1,S2`` and ``--spec FILE ...`` with the other flags (see the module docs)."""
    specific = _specific()
    wanted = [name for name in specific if name in given]
    kept_by: set[str] = set()
    errors: dict[str, ConfigError] = {}
    arms: list[tuple[str, RunSpec]] = []
    for strategy in strategies:
        spec, kept = _best_spec({**values, "strategy": strategy}, given | {"strategy"}, None, wanted, specific, errors)
        name = strategy + ("+" + "+".join(spec.tools) if spec.tools and "tool_spec" in kept else "")
        arms.append((name, spec))
        kept_by.update(kept)
    for file in spec_files:
        base = RunSpec.load(file)
        spec, kept = _best_spec(values, given - {"strategy"}, base, wanted, specific, errors)
        arms.append((file.stem, spec))
        kept_by.update(kept)
    for name in wanted:
        if name not in kept_by:
            error = errors.get(name)
            if error is not None and not _not_applicable(error):
                raise error  # a bad value, not a flag for other strategies
            names = ", ".join(n for n, _ in arms)
            raise ConfigError(f"{specific[name][0]} applies to none of the evaluated specs ({names})")
    out = [Arm(name, spec) for name, spec in _unique(arms)]
    seen: dict[str, str] = {}
    for arm in out:
        if arm.hash in seen:
            raise ConfigError(f"{seen[arm.hash]} and {arm.name} are the same spec (hash {arm.hash}); evaluate it once")
        seen[arm.hash] = arm.name
    return out


def _best_spec(
    values: Mapping[str, Any],
    given: set[str],
    base: RunSpec | None,
    wanted: list[str],
    specific: Mapping[str, tuple[str, Any]],
    errors: dict[str, ConfigError],
) -> tuple[RunSpec, list[str]]:
    """The spec with every strategy-specific flag that applies to it (all of them if they all do)."""

    def build(kept: list[str]) -> RunSpec:
        dropped = {name: specific[name][1] for name in wanted if name not in kept}
        return spec_from_flags({**values, **dropped}, given - set(dropped), base)

    kept = list(wanted)
    while True:
        try:
            return build(kept), kept
        except ConfigError as exc:
            blamed = [name for name in kept if re.search(rf"{re.escape(specific[name][0])}\b(?!-)", str(exc))]
            if not blamed or not _not_applicable(exc):
                raise  # the flags every spec takes, or a bad value: the user's to fix
            for name in blamed:
                kept.remove(name)
                errors.setdefault(name, exc)


def _not_applicable(error: ConfigError) -> bool:
    text = str(error)
    return any(words in text for words in ("does not apply", "needs a strategy", "needs --"))


def _unique(arms: list[tuple[str, RunSpec]]) -> list[tuple[str, RunSpec]]:
    seen: dict[str, int] = {}
    out = []
    for name, spec in arms:
        seen[name] = seen.get(name, 0) + 1
        out.append((name if seen[name] == 1 else f"{name}#{seen[name]}", spec))
    return out
