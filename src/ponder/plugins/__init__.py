"""Plugins: one registry mechanism for strategies, model backends, tools and verifiers.

Each kind keeps its own entry type beside its code and one :class:`Registry` of them:

==============  ==============================  ======================================================
kind            entry point group               entry (module)
==============  ==============================  ======================================================
strategy        ``ponder.strategies``           :class:`~ponder.strategies.entry.StrategyEntry`
model backend   ``ponder.models``               :class:`~ponder.models.registry.BackendEntry`
tool            ``ponder.tools``                :class:`~ponder.tools.specs.ToolEntry`
verifier        ``ponder.verifiers``            :class:`~ponder.verifiers.specs.VerifierEntry`
==============  ==============================  ======================================================

The built-in entries are listed explicitly in each kind's registry module; installed plugins are the
entry points of the kind's group. Both go through the same admission (:meth:`Registry.admit`): the
object becomes an entry (or is refused as the wrong type), its name must be new. A plugin that fails
(an import error, the wrong type, a name already taken) is kept as a :class:`Broken` record: asking for
it raises one :class:`PluginError` naming the plugin, its entry point and group; listings show it as
broken; the other plugins and the built-ins work on. This package imports nothing of ponder but
:mod:`ponder.errors`.
"""

from .registry import Arg, Broken, PluginError, Registry, names_of, resolve

__all__ = ["Arg", "Broken", "PluginError", "Registry", "names_of", "resolve"]
