"""``Score``: what a scorer says of one answer (its own module, so scorers elsewhere need not import the registry)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Score:
    """An item's score in [0, 1], whether it is correct, and what was compared (shown in the results)."""

    score: float
    correct: bool
    detail: str = ""
