"""Strategies: reasoning loops written as generators of engine requests.

Each strategy module holds one class and its registry entry (``ENTRY``, see
:mod:`ponder.strategies.entry`), which declares the options a run spec may
set, the slots that hold other strategies (``inner`` of consistency and
verify, ``fast``/``slow`` of route), its verifier, whether it takes tools and
how many calls it needs. :mod:`ponder.strategies.registry` lists them (and
those of plugins). Build one from data with :func:`ponder.get_strategy` or a
:class:`ponder.spec.StrategySpec`::

    get_strategy("consistency", inner="react", tools=[calculator_tool()], samples=3)
    get_strategy("route", slow="consistency", samples=8)   # samples → consistency

Release what a strategy's verifier holds (a sandbox) with :func:`close_strategy`.
"""

from __future__ import annotations

from ..requests import Strategy
from .consistency import Consistency
from .react import React
from .recursive import Recursive
from .refine import Refine
from .registry import close_strategy, entries, entry
from .route import Route
from .single import Single
from .tree import Tree
from .verify import Verify

__all__ = [
    "Consistency",
    "React",
    "Recursive",
    "Refine",
    "Route",
    "Single",
    "Strategy",
    "Tree",
    "Verify",
    "close_strategy",
    "entries",
    "entry",
]
