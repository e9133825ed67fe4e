"""Click types for numbers: finite floats and bounded whole numbers (see :mod:`ponder.guards.numbers`).

``click.FloatRange`` accepts ``nan`` and ``inf`` (NaN compares false with every bound) and
``click.IntRange`` any size of integer; these reject both with click's one-line usage error.
"""

from __future__ import annotations

import math
from typing import Any

import click

from ..guards.numbers import MAX_INT


class FiniteFloat(click.FloatRange):
    """A float in a range that is never NaN or infinite."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if isinstance(number, float) and not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class Whole(click.IntRange):
    """A whole number in a range, at most :data:`~ponder.guards.numbers.MAX_INT` (or ``max``)."""

    name = "integer"

    def __init__(self, min: int | None = None, max: int | None = None, *, min_open: bool = False) -> None:
        super().__init__(min=min, max=MAX_INT if max is None else max, min_open=min_open)


#: a positive count (a limit, a number of runs)
COUNT = Whole(min=1)
