"""Loop detection for iterative strategies (react).

:class:`LoopDetector` watches the actions a run takes. It reports a loop when
the same action with the same (normalised) input has been taken ``threshold``
times, or when the recent observations cycle with a short period (X, X, X or
X, Y, X, Y, ... repeated ``threshold`` times) even though the inputs differ,
which catches a model that rephrases the same call without making progress.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..errors import ConfigError


def _normal(text: str) -> str:
    return " ".join(str(text).split()).lower()


@dataclass(slots=True)
class LoopDetector:
    threshold: int = 3
    max_period: int = 3
    _actions: Counter[tuple[str, str]] = field(default_factory=Counter)
    _observations: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.threshold < 2:
            raise ConfigError(f"loop threshold must be >= 2, got {self.threshold}")

    def add(self, action: str, action_input: str, observation: str) -> str | None:
        """Record one step; return why it is a loop, or ``None``."""
        key = (action, _normal(action_input))
        self._actions[key] += 1
        if self._actions[key] >= self.threshold:
            return f"the action {action}({action_input.strip()[:80]!r}) was repeated {self._actions[key]} times"
        self._observations.append(_normal(observation))
        for period in range(1, self.max_period + 1):
            span = period * self.threshold
            if len(self._observations) < span:
                break
            tail = self._observations[-span:]
            if all(tail[i] == tail[i % period] for i in range(span)):
                return f"the last {span} observations cycle with period {period}"
        return None
