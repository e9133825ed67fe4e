"""A run as data: :class:`RunSpec` and the strategy tree it holds, built into objects by one builder.

=====================  ==========================================================
module                 what it holds
=====================  ==========================================================
:mod:`.run`            :class:`RunSpec` (models by role, budget, options, ...)
:mod:`.node`           :class:`StrategySpec`, one node of the strategy tree
:mod:`.build`          :func:`build_strategy`, :func:`get_strategy`
:mod:`.run_flags`      the run flags as data: where each goes in a spec, how it parses, when it counts
:mod:`.flags`          ``ponder ask`` flags -> a spec; the flags the registry declares
:mod:`.describe`       a run given as objects -> a spec (for the store), when it can be
:mod:`.legacy`         what a store holds for a run (a spec, or an old recipe) -> a spec
=====================  ==========================================================

:func:`ponder.open_run` (in :mod:`ponder.builder`) turns a spec into a running engine.
"""

from .build import build_strategy, get_strategy, make_verifier, place_options
from .describe import describe_run, describe_strategy
from .flags import spec_from_flags, strategy_flags
from .node import StrategySpec
from .parts import BudgetSpec, MemorySpec, ModelSpec
from .run import SPEC_VERSION, RunSpec

__all__ = [
    "SPEC_VERSION",
    "BudgetSpec",
    "MemorySpec",
    "ModelSpec",
    "RunSpec",
    "StrategySpec",
    "build_strategy",
    "describe_run",
    "describe_strategy",
    "get_strategy",
    "make_verifier",
    "place_options",
    "spec_from_flags",
    "strategy_flags",
]
