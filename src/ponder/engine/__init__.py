"""The engine: the state manager that runs a strategy's requests, records every step and enforces budgets.

:class:`Engine` (in :mod:`.core`) drives a run; beside it, each concern in its own module:
a run's life (:mod:`.runs`: opened, driven, ended), the one object the helpers are handed
(:mod:`.scope`, holding the :mod:`.recorder` of step indices, sequence numbers and events),
model calls (:mod:`.model_calls`, their options and concurrency in :mod:`.dispatch`, the
completion cache in :mod:`.call_cache`), tool calls (:mod:`.tool_calls`), child runs
(:mod:`.children`), the generator stepping rules (:mod:`.run_loop`, :mod:`.run_state`),
deadlines (:mod:`.deadline`), budgets and prices (:mod:`.budget`, :mod:`.prices`), a
client's conversation (:mod:`.conversation`) and OpenTelemetry spans (:mod:`.telemetry`).

The helpers get what they need through the :class:`~.scope.Scope`, never from the engine's own
members; the engine imports neither the strategies nor the spec (describing a run given as
objects is the builder's: :func:`ponder.builder.describe`).
"""

from .core import Engine

__all__ = ["Engine"]
