"""``Score``: what a scorer says of one answer, and ``Scorer``, what every scorer is (their own module, so
scorers elsewhere need not import the registry)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..models.base import Model
    from .data import Item


@dataclass(frozen=True, slots=True)
class Score:
    """An item's score in [0, 1], whether it is correct, and what was compared (shown in the results)."""

    score: float
    correct: bool
    detail: str = ""


class Scorer(Protocol):
    """How an answer is scored. The scorers of :mod:`ponder.eval.scorers` subclass it for its default
    :meth:`check`."""

    __slots__ = ()

    #: the spec string that builds this scorer again (``number``, ``regex:...``)
    spec: str
    #: whether :meth:`score` needs the judge model
    needs_judge: bool

    def check(self, item: Item) -> None:
        """Fail now, with one line, for an item this scorer cannot score (no gold, no puzzle, no hidden
        tests), before any run starts; the default takes every item."""
        return None

    def score(self, answer: str | None, item: Item, judge: Model | None = None) -> Score: ...
