"""The engine: the state manager that runs a strategy's requests, records every step and enforces budgets.

:class:`Engine` (in :mod:`.core`) drives a run; beside it, each concern in its own module:
model calls (:mod:`.model_calls`, their options and concurrency in :mod:`.dispatch`, the
completion cache in :mod:`.call_cache`), tool calls (:mod:`.tool_calls`), child runs
(:mod:`.children`), the generator stepping rules (:mod:`.run_loop`, :mod:`.run_state`),
deadlines (:mod:`.deadline`), budgets and prices (:mod:`.budget`, :mod:`.prices`), a
client's conversation (:mod:`.conversation`) and OpenTelemetry spans (:mod:`.telemetry`).
"""

from .core import Engine

__all__ = ["Engine"]
