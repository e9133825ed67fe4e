"""The strategy registry: the built-in entries and those of installed plugins.

Each strategy module declares one :class:`~ponder.strategies.entry.StrategyEntry`
(``ENTRY``); this module lists the built-in ones explicitly. A third-party
package adds a strategy with no edit of ponder by declaring an entry point in
the ``ponder.strategies`` group whose object is a ``StrategyEntry`` (or a
function returning one)::

    [project.entry-points."ponder.strategies"]
    shout = "ponder_shout:ENTRY"

Plugins are loaded on the first lookup; a plugin that fails to load is reported
(by name, with its error) when it is asked for, and does not break the others.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import Any

from ..errors import PonderError, StrategyNotFoundError
from ..verifiers.base import close_verifier
from . import consistency, react, recursive, refine, route, single, tree, verify
from .entry import StrategyEntry

GROUP = "ponder.strategies"
BUILTIN: tuple[StrategyEntry, ...] = (
    single.ENTRY,
    refine.ENTRY,
    react.ENTRY,
    verify.ENTRY,
    consistency.ENTRY,
    route.ENTRY,
    tree.ENTRY,
    recursive.ENTRY,
)


@cache
def _plugins() -> tuple[dict[str, StrategyEntry], dict[str, str]]:
    """The entries of installed plugins, and the errors of those that failed to load (by name)."""
    found: dict[str, StrategyEntry] = {}
    broken: dict[str, str] = {}
    for point in entry_points(group=GROUP):
        try:
            loaded: Any = point.load()
            entry = loaded() if callable(loaded) and not isinstance(loaded, StrategyEntry) else loaded
            if not isinstance(entry, StrategyEntry):
                raise TypeError(f"{point.value} is not a StrategyEntry")
        except Exception as exc:  # a broken plugin must not break ponder
            broken[point.name] = f"{type(exc).__name__}: {exc}"
            continue
        found[entry.name] = entry
    return found, broken


def entries() -> dict[str, StrategyEntry]:
    """Every registered strategy by name: the built-in ones first, then plugins (which cannot replace them)."""
    out = {e.name: e for e in BUILTIN}
    plugins, _ = _plugins()
    for name, entry in plugins.items():
        out.setdefault(name, entry)
    return out


def entry(name: str) -> StrategyEntry:
    """The entry registered as ``name``; StrategyNotFoundError (listing the known names) otherwise."""
    known = entries()
    if name in known:
        return known[name]
    _, broken = _plugins()
    if name in broken:
        raise PonderError(f"the strategy plugin {name!r} failed to load: {broken[name]}")
    raise StrategyNotFoundError(f"unknown strategy {name!r} (known: {', '.join(sorted(known))})")


def entry_of(strategy: object) -> StrategyEntry | None:
    """The entry whose factory built ``strategy`` (by its class), or None."""
    kind = type(strategy)
    return next((e for e in entries().values() if e.factory is kind), None)


def refresh() -> None:
    """Forget the loaded plugins (after installing one in a running process, e.g. in tests)."""
    _plugins.cache_clear()


def close_strategy(strategy: object) -> None:
    """Release the verifiers a strategy (or any strategy in its slots) holds; tools are closed by their owner."""
    found = entry_of(strategy)
    if found is None:
        return
    if found.verifier_field is not None:
        close_verifier(getattr(strategy, found.verifier_field, None))
    for slot in found.slots:
        nested = getattr(strategy, slot.name, None)
        if nested is not None:
            close_strategy(nested)
