"""The store's error: what a person must fix about a run store."""

from __future__ import annotations

from ..errors import PonderError


class StoreError(PonderError):
    """The run store cannot be used (corrupted, foreign or newer file; unknown run; nothing to resume)."""
