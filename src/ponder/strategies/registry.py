"""The strategy registry: the built-in entries and those of installed plugins.

Each strategy module declares one :class:`~ponder.strategies.entry.StrategyEntry`
(``ENTRY``); this module lists the built-in ones explicitly. A third-party
package adds a strategy with no edit of ponder by declaring an entry point in
the ``ponder.strategies`` group whose object is a ``StrategyEntry`` (or a
function returning one)::

    [project.entry-points."ponder.strategies"]
    shout = "ponder_shout:ENTRY"

Built-ins and plugins go through one :class:`ponder.plugins.Registry`: a plugin that
fails to load, is no ``StrategyEntry`` or takes a name already registered is
reported (by name, entry point and group) when it is asked for, and does not
break the others.
"""

from __future__ import annotations

from ..errors import StrategyNotFoundError
from ..plugins import Registry
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


def _admit(loaded: object, name: str) -> StrategyEntry:
    """What an entry point gives -> its entry: a ``StrategyEntry``, or a function returning one."""
    found = loaded() if callable(loaded) and not isinstance(loaded, StrategyEntry) else loaded
    if not isinstance(found, StrategyEntry):
        raise TypeError(f"{name} gives a {type(found).__name__}, not a StrategyEntry")
    return found


REGISTRY: Registry[StrategyEntry] = Registry("strategy", GROUP, BUILTIN, _admit)


def entries() -> dict[str, StrategyEntry]:
    """Every registered strategy by name: the built-in ones first, then plugins (which cannot replace them)."""
    return REGISTRY.entries()


def entry(name: str) -> StrategyEntry:
    """The entry registered as ``name``; StrategyNotFoundError (listing the known names) otherwise, and
    PluginError for a plugin of that name that failed to load."""
    found = REGISTRY.get(name)
    if found is None:
        raise StrategyNotFoundError(f"unknown strategy {name!r} (known: {', '.join(sorted(entries()))})")
    return found


def entry_of(strategy: object) -> StrategyEntry | None:
    """The entry whose factory built ``strategy`` (by its class), or None."""
    kind = type(strategy)
    return next((e for e in entries().values() if e.factory is kind), None)


def refresh() -> None:
    """Forget the loaded plugins (after installing one in a running process, e.g. in tests)."""
    REGISTRY.refresh()


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
