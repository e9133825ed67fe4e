"""Regular expressions from users and clients, run with a time bound that cannot stall anything else.

A pattern such as ``(a+)+$`` takes exponential time on a long enough text; Python's ``re`` holds the
GIL all that time, so one bad pattern in an extraction or a ``regex:`` verifier froze every request of a
server and its ``/health``. :func:`user_pattern` compiles a pattern with the ``regex`` package, whose
matching releases the GIL (``concurrent=True``) and stops after :data:`SECONDS` (``timeout=``): a match
that runs out of time raises :class:`PatternTimeoutError` (an extraction abstains, a check fails with that
feedback), and the rest of the process goes on meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import regex  # type: ignore[import-untyped]

from ..errors import ConfigError, PonderError

#: the longest one match of a user's pattern may run
SECONDS = 0.25
#: the longest pattern taken
MAX_PATTERN = 1000
FLAGS = regex.IGNORECASE | regex.MULTILINE


class PatternTimeoutError(PonderError):
    """A user's pattern ran out of time on a text."""


@dataclass(frozen=True)
class UserPattern:
    """A compiled user pattern whose matching is time-bounded (see the module docs)."""

    text: str
    compiled: Any
    seconds: float = SECONDS

    @property
    def groups(self) -> int:
        groups: int = self.compiled.groups
        return groups

    def search(self, text: str) -> Any:
        """The first match in ``text`` or None; PatternTimeoutError past the time bound."""
        try:
            return self.compiled.search(text, concurrent=True, timeout=self.seconds)
        except TimeoutError:
            raise PatternTimeoutError(f"the pattern {self.text!r} took longer than {self.seconds:g} s") from None

    def finditer(self, text: str) -> Iterator[Any]:
        """Every match in ``text``, the whole scan time-bounded; PatternTimeoutError past the bound."""
        try:
            return iter(list(self.compiled.finditer(text, concurrent=True, timeout=self.seconds)))
        except TimeoutError:
            raise PatternTimeoutError(f"the pattern {self.text!r} took longer than {self.seconds:g} s") from None


@lru_cache(maxsize=256)
def user_pattern(pattern: str, what: str = "pattern") -> UserPattern:
    """``pattern`` compiled for time-bounded matching; ConfigError (naming ``what``) when it is not one."""
    if not isinstance(pattern, str):
        raise ConfigError(f"the {what} must be text")
    if len(pattern) > MAX_PATTERN:
        raise ConfigError(f"the {what} is longer than {MAX_PATTERN} characters")
    try:
        compiled = regex.compile(pattern, FLAGS)
    except (regex.error, ValueError, OverflowError, RecursionError) as exc:
        raise ConfigError(f"bad {what} {pattern!r}: {exc}") from None
    return UserPattern(pattern, compiled)
