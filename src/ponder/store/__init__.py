"""Persistent runs: a SQLite store of every event, resume with replay, and export.

>>> from ponder.store import RunStore
>>> store = RunStore("/tmp/runs.db")            # doctest: +SKIP
>>> engine = Engine(model, sinks=[store.sink()])  # doctest: +SKIP
"""

from __future__ import annotations

from .errors import StoreError
from .location import STORE_ENV, default_store_path
from .replay import ReplayDivergedError, Replayer
from .schema import SCHEMA_VERSION
from .sink import StoreSink
from .sqlite import OUTCOMES, RunStore

__all__ = [
    "OUTCOMES",
    "SCHEMA_VERSION",
    "STORE_ENV",
    "ReplayDivergedError",
    "Replayer",
    "RunStore",
    "StoreError",
    "StoreSink",
    "default_store_path",
]
