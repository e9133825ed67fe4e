"""Bounded JSON: parse and check untrusted nested data without recursion.

Everything a model writes as structured data (a ReAct "Action Input", native tool-call
arguments, a ``host_call`` payload from sandboxed code) passes through here before any
code that recurses over it (``json.loads``, ``json.dumps``, schema checks) sees it. Both
checks work with a loop and an explicit stack (the parser's own ``RecursionError`` is caught),
so no input escapes as ``RecursionError``, and they bound the depth and the number of values,
so no input can make the code after them expensive. Problems raise :class:`PayloadError`, a ``ValueError``
whose message is written for the model.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

MAX_DEPTH = 32
MAX_VALUES = 100_000


class PayloadError(ValueError):
    """Structured data from the model is too deep, too big, or not JSON; the message says which."""


def check_json(
    value: Any,
    *,
    what: str = "the value",
    max_depth: int = MAX_DEPTH,
    max_values: int = MAX_VALUES,
    plain: bool = True,
) -> None:
    """Raise :class:`PayloadError` unless ``value`` is JSON data (str, finite number, bool, None, list,
    dict with str keys; tuples count as lists) nested at most ``max_depth`` levels, ``max_values`` values in
    all. ``plain=False`` lets other leaf objects through (values a Python caller passed, not a model)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    seen = 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > max_values:
            raise PayloadError(f"{what} is too big (more than {max_values} values)")
        if item is None or isinstance(item, str | bool | int):
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                raise PayloadError(f"{what} holds a number that is not finite ({item})")
            continue
        if isinstance(item, list | tuple | Mapping):
            if depth >= max_depth:
                raise PayloadError(f"{what} is nested too deeply (more than {max_depth} levels)")
            if isinstance(item, Mapping):
                for key, inner in item.items():
                    if plain and not isinstance(key, str):
                        raise PayloadError(f"{what} has a key that is not a string ({type(key).__name__})")
                    stack.append((inner, depth + 1))
            else:
                stack.extend((inner, depth + 1) for inner in item)
            continue
        if plain:
            raise PayloadError(f"{what} holds a {type(item).__name__}, which is not JSON data")


def loads(
    text: str | bytes, *, what: str = "the JSON", max_depth: int = MAX_DEPTH, max_values: int = MAX_VALUES
) -> Any:
    """``json.loads`` bounded like :func:`check_json` (depth, values, finite numbers). Text that is not
    JSON raises ``json.JSONDecodeError`` (a ``ValueError`` with the position); every other problem,
    nesting too deep for the parser included, is a :class:`PayloadError`."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except (PayloadError, json.JSONDecodeError):
        raise
    except RecursionError:
        raise PayloadError(f"{what} is nested too deeply (more than {max_depth} levels)") from None
    except (ValueError, TypeError) as exc:  # not UTF-8, an integer with too many digits
        raise PayloadError(f"{what} could not be read ({exc})") from None
    check_json(value, what=what, max_depth=max_depth, max_values=max_values)
    return value


def _refuse_constant(name: str) -> Any:
    raise PayloadError(f"{name} is not a JSON number")
