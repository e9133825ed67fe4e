"""Reading the store's rows back: JSON text from a file anyone could have edited (see :mod:`ponder.guards.text`)."""

from __future__ import annotations

import json
from typing import Any

from ..guards.text import clean_tree


class StoreWarning(UserWarning):
    """A row of the store that could not be read was left out."""


def loads_row(data: str) -> Any:
    """A stored JSON value, its text valid Unicode (a ``"\\ud800"`` escape written by hand is one more way in:
    see :mod:`ponder.guards.text`), a ``NaN`` or ``Infinity`` (not JSON; rows written before ponder refused them)
    read as null, so every output made from it is JSON; None when it is not JSON."""
    try:
        return clean_tree(json.loads(data, parse_constant=lambda _constant: None))
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to be an event
        return None
