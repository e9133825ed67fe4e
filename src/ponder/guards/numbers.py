"""Numbers a user gives (flags, run specs, HTTP requests): finite, and whole numbers of a sane size.

A float that is NaN or infinite means nothing as a temperature, a limit or a threshold (NaN
compares false with every bound, so range checks alone let it through, and it breaks JSON later);
an integer past :data:`MAX_INT` overflows SQLite, ``setrlimit`` and C sizes. Every boundary that
takes a number from outside (the CLI's click types in :mod:`ponder.cli.numbers`, the run spec and
its typed parts, the HTTP translation) checks it here, so the error is one line, the same everywhere.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..errors import ConfigError

#: the largest whole number ponder takes from outside (SQLite's and C's 64-bit signed integers)
MAX_INT = 2**63 - 1
#: the longest time limit (about 11.5 days): a limit becomes a timeout in milliseconds, which the OS takes
#: as a 32-bit int (``poll``), and a deadline must stay a valid time
MAX_SECONDS = 1_000_000.0


def finite(name: str, value: object, *, minimum: float | None = None, maximum: float | None = None) -> float:
    """``value`` as a finite float within the bounds, else ConfigError ``"NAME must be a finite number ..."``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    number = float(value) if isinstance(value, float) or abs(value) <= MAX_INT else math.inf
    if not math.isfinite(number):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    _bounds(name, number, minimum, maximum)
    return number


def whole(name: str, value: object, *, minimum: int | None = None, maximum: int = MAX_INT) -> int:
    """``value`` as an int within the bounds (64-bit: at most :data:`MAX_INT` either way), else ConfigError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    _bounds(name, value, -MAX_INT - 1 if minimum is None else minimum, maximum)
    return value


def _bounds(name: str, value: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be >= {_shown(minimum)}, got {_shown(value)}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be <= {_shown(maximum)}, got {_shown(value)}")


def _shown(number: float) -> str:
    return str(number) if isinstance(number, int) else f"{number:g}"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads_json(text: str | bytes | bytearray) -> Any:
    """JSON from outside (a request body, a spec file), strictly: ``NaN``/``Infinity`` are refused (they are
    not JSON), and a number too long or nesting too deep is a ``ValueError`` like any other bad JSON
    (never a ``RecursionError``)."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
