"""One registry of named entries: the built-in ones, then those of installed plugins (see the package docs).

A :class:`Registry` is made with the kind's name, its entry point group, its built-in entries and an
``admit`` function that turns the object an entry point loads into an entry of the kind (raising when it
cannot, e.g. ``TypeError`` for the wrong type). Built-ins and plugins pass the same checks; a built-in
that fails them is a bug in ponder and raises at once, a plugin that fails them is recorded as
:class:`Broken`. Plugins are loaded once, on the first lookup of a name that is no built-in, or the first
listing; :meth:`Registry.refresh` forgets them (after installing one in a running process).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Generic, Literal, Protocol, TypeVar

from ..errors import ConfigError, PonderError

#: the longest error text kept of a broken plugin (its exception's message is not ponder's text)
MAX_ERROR = 500


class PluginError(ConfigError):
    """A plugin that failed to load was asked for, or its code failed; the message names the plugin."""


class Named(Protocol):
    """An entry: anything with a ``name`` (and optionally ``aliases``, a tuple of other names)."""

    @property
    def name(self) -> str: ...


E = TypeVar("E", bound=Named)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Broken:
    """A plugin that could not be registered: its kind, entry point name, target, group and why."""

    kind: str
    name: str
    target: str
    group: str
    error: str

    def message(self) -> str:
        """One line that names the plugin, where it comes from and what is wrong."""
        return (
            f"the {self.kind} plugin {self.name!r} (entry point {self.target} in group {self.group}) "
            f"is broken: {self.error}"
        )


def names_of(entry: Named) -> tuple[str, ...]:
    """The entry's name and its aliases."""
    aliases: tuple[str, ...] = tuple(getattr(entry, "aliases", ()))
    return (entry.name, *aliases)


class Registry(Generic[E]):
    """The entries of one kind (``strategy``, ``model``, ``tool``, ``verifier``) by name."""

    def __init__(self, kind: str, group: str, builtins: Iterable[object], admit: Callable[[object, str], E]) -> None:
        self.kind = kind
        self.group = group
        self._admit = admit
        self._builtins: dict[str, E] = {}
        self._builtin_names: dict[str, str] = {}
        for item in builtins:
            entry = admit(item, getattr(item, "name", "?"))
            problem = _clash(entry, entry.name, self._builtin_names, self.kind)
            if problem:
                raise ValueError(f"built-in {kind} {entry.name!r}: {problem}")
            self._builtins[entry.name] = entry
            self._builtin_names.update(dict.fromkeys(names_of(entry), entry.name))
        self._lock = threading.RLock()  # re-entrant: a plugin may look names up while it is imported
        self._loaded: tuple[dict[str, E], dict[str, str], dict[str, Broken]] | None = None

    def builtins(self) -> dict[str, E]:
        """The built-in entries by name (loads no plugin)."""
        return dict(self._builtins)

    def builtin(self, name: str) -> E | None:
        """The built-in entry called ``name`` (or by an alias), or None (loads no plugin)."""
        canonical = self._builtin_names.get(name)
        return None if canonical is None else self._builtins[canonical]

    def plugins(self) -> dict[str, E]:
        """The entries of installed plugins that loaded and passed the checks, by name."""
        return dict(self._load()[0])

    def broken(self) -> list[Broken]:
        """The plugins that could not be registered, each with why."""
        return list(self._load()[2].values())

    def entries(self) -> dict[str, E]:
        """Every entry by name: the built-in ones first, then plugins (which cannot replace them)."""
        return {**self._builtins, **self._load()[0]}

    def get(self, name: str) -> E | None:
        """The entry called ``name`` (or by an alias), None if there is none; a broken plugin of that name
        raises :class:`PluginError`. A built-in name is found without loading any plugin."""
        found = self.builtin(name)
        if found is not None:
            return found
        plugins, aliases, broken = self._load()
        if name in aliases:
            return plugins[aliases[name]]
        if name in broken:
            raise PluginError(broken[name].message())
        return None

    def call(self, entry: E, make: Callable[[], T]) -> T:
        """``make()``, which runs the code of ``entry``: for a plugin, any error but a PonderError becomes one
        PluginError naming it (its code is not ponder's; a built-in's errors pass as they are)."""
        if self._builtins.get(entry.name) is entry:
            return make()
        try:
            return make()
        except PonderError:
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
            raise PluginError(f"the {self.kind} plugin {entry.name!r} failed: {error}") from None

    def refresh(self) -> None:
        """Forget the loaded plugins: the next lookup reads the entry points again."""
        with self._lock:
            self._loaded = None

    def _load(self) -> tuple[dict[str, E], dict[str, str], dict[str, Broken]]:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._read()
            return self._loaded

    def _read(self) -> tuple[dict[str, E], dict[str, str], dict[str, Broken]]:
        found: dict[str, E] = {}
        taken = dict(self._builtin_names)
        broken: dict[str, Broken] = {}
        for point in entry_points(group=self.group):
            try:
                entry = self._admit(point.load(), point.name)
                problem = _clash(entry, point.name, taken, self.kind)
            except Exception as exc:  # a broken plugin must not break ponder
                problem = f"{type(exc).__name__}: {exc}"
            if problem:
                broken.setdefault(
                    point.name, Broken(self.kind, point.name, point.value, self.group, problem[:MAX_ERROR])
                )
                continue
            found[entry.name] = entry
            taken.update(dict.fromkeys(names_of(entry), entry.name))
        plugin_names = {n: c for n, c in taken.items() if c in found}
        return found, plugin_names, broken


def _clash(entry: Named, declared: str, taken: dict[str, str], kind: str) -> str:
    """Why ``entry`` (declared as ``declared``) cannot be registered beside the names in ``taken``, or ""."""
    if not isinstance(entry.name, str) or not entry.name.strip():
        return f"a {kind} needs a name"
    if entry.name != declared:
        return f"it is declared as {declared!r} but its entry is named {entry.name!r}"
    for name in names_of(entry):
        if name in taken:
            return f"the name {name!r} is taken (by the {kind} {taken[name]!r})"
    return ""


#: whether an entry's ``NAME:ARG`` form takes an argument
Arg = Literal["none", "required", "optional"]


class Written(Named, Protocol):
    """An entry named in a ``NAME:ARG`` item (a ``--tools`` item, a ``--verifier``)."""

    @property
    def arg(self) -> Arg: ...

    @property
    def usage(self) -> str: ...


W = TypeVar("W", bound=Written)


def resolve(registry: Registry[W], item: str, known: str, example: Callable[[W], str]) -> tuple[W, str]:
    """The entry ``item`` (``NAME`` or ``NAME:ARG``) names and its argument, checked against what the entry
    takes; one ConfigError naming the known entries (``known``, then plugins) or the argument's rule."""
    written, sep, arg = item.strip().partition(":")
    name, arg = written.strip().lower(), arg.strip()
    found = registry.get(name)
    if found is None:
        plugins = "".join(f", {e.usage or e.name}" for e in registry.plugins().values())
        raise ConfigError(f"unknown {registry.kind} {written!r}; known: {known}{plugins}")
    if found.arg == "none" and sep:
        raise ConfigError(f"{registry.kind} {found.name!r} takes no argument, got {item!r}")
    if found.arg == "required" and not arg:
        raise ConfigError(f"{registry.kind} {found.name!r} needs an argument, like {example(found)}")
    return found, arg
