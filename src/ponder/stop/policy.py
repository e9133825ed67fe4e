"""A learned stop policy: a small classifier that decides whether going on (another refine pass,
more consistency samples) is worth it.

The state after each refine pass is a :class:`~ponder.stop.refine_features.PassState`
(features in :mod:`ponder.stop.refine_features`), the state after each wave of
consistency samples a :class:`~ponder.stop.vote_features.VoteState` (the vote so far;
see :mod:`ponder.stop.vote_features`). A logistic regression fitted on recorded
runs (:func:`ponder.stop.fit`) predicts the probability that going on still turns
a wrong answer into a right one (or changes the vote); the policy stops when that
probability falls below ``threshold``.

The saved policy is a small JSON file of coefficients, so using it needs nothing
but Python (and no pickle is ever loaded). A policy file says which kind of state
it was fitted on (``"state": "refine"`` or ``"consistency"``, format version 2); a
policy fitted on one kind given to the other strategy is a
:class:`~ponder.errors.ConfigError`. Version 1 files (no ``state``) are refine
policies and still load.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from ..errors import ConfigError
from .refine_features import FEATURES, PassState, features
from .vote_features import VOTE_FEATURES, VoteState, vote_features

FORMAT = "ponder-learned-stop"
VERSION = 2
#: the kinds of state a policy can be fitted on: refine passes or consistency waves
StateKind = Literal["refine", "consistency"]

KINDS: dict[StateKind, tuple[str, tuple[str, ...]]] = {
    "refine": ("refine passes", FEATURES),
    "consistency": ("consistency waves", VOTE_FEATURES),
}


def state_features(state: PassState | VoteState) -> tuple[StateKind, list[float]]:
    """The kind of ``state`` and its feature vector."""
    if isinstance(state, VoteState):
        return "consistency", vote_features(state)
    return "refine", features(state)


@dataclass(frozen=True, slots=True)
class LearnedStop:
    """A fitted policy: standardisation, logistic-regression weights, the stop threshold, and the
    kind of state it was fitted on (``refine`` passes or ``consistency`` waves)."""

    weights: tuple[float, ...]
    intercept: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float = 0.5
    min_passes: int = 0
    state: StateKind = "refine"

    def __post_init__(self) -> None:
        if self.state not in KINDS:
            raise ConfigError(f"unknown stop policy state {self.state!r} (use refine or consistency)")
        n = len(self.names)
        if not len(self.weights) == len(self.mean) == len(self.scale) == n:
            raise ConfigError(f"a {self.state} stop policy needs {n} weights, means and scales")

    @property
    def names(self) -> tuple[str, ...]:
        """The features, in order, of the kind of state the policy was fitted on."""
        return KINDS[self.state][1]

    @classmethod
    def constant(cls, stop: bool, state: StateKind = "refine", min_passes: int = 0) -> LearnedStop:
        """A policy that always (or never) stops: what fitting gives when the rows have one label only."""
        n = len(KINDS[state][1])
        return cls((0.0,) * n, -20.0 if stop else 20.0, (0.0,) * n, (1.0,) * n, 0.5, min_passes, state)

    def improve_probability(self, state: PassState | VoteState) -> float:
        """The predicted probability that going on (another pass, more samples) still pays off."""
        kind, x = state_features(state)
        if kind != self.state:
            raise ConfigError(mismatch(self.state, kind))
        z = self.intercept + sum(
            w * (v - m) / (s or 1.0) for w, v, m, s in zip(self.weights, x, self.mean, self.scale, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def should_stop(self, state: PassState | VoteState) -> bool:
        index = state.wave if isinstance(state, VoteState) else state.pass_index
        if index < self.min_passes:
            return False
        return self.improve_probability(state) < self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "state": self.state,
            "features": list(self.names),
            "weights": list(self.weights),
            "intercept": self.intercept,
            "mean": list(self.mean),
            "scale": list(self.scale),
            "threshold": self.threshold,
            "min_passes": self.min_passes,
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> LearnedStop:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read the stop policy {path}: {exc.strerror}") from None
        except json.JSONDecodeError:
            raise ConfigError(f"{path} is not a ponder stop policy (not JSON)") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ConfigError(f"{path} is not a ponder stop policy")
        version = data.get("version", 1)
        if version not in (1, VERSION):
            raise ConfigError(f"the stop policy {path} has format version {version}; this ponder reads 1 and 2")
        named = data.get("state", "refine") if version == VERSION else "refine"
        state = next((kind for kind in KINDS if kind == named), None)
        if state is None:
            raise ConfigError(f"the stop policy {path} was fitted on unknown states {named!r}")
        if tuple(data.get("features", ())) != KINDS[state][1]:
            raise ConfigError(f"the stop policy {path} uses other features than this ponder (refit it)")
        try:
            return cls(
                tuple(float(w) for w in data["weights"]),
                float(data["intercept"]),
                tuple(float(v) for v in data["mean"]),
                tuple(float(v) for v in data["scale"]),
                float(data.get("threshold", 0.5)),
                int(data.get("min_passes", 0)),
                state,
            )
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"the stop policy {path} is incomplete or malformed (refit it)") from None


def mismatch(fitted: StateKind, asked: StateKind) -> str:
    """The error when a policy fitted on one kind of state is asked about another."""
    return (
        f"the stop policy was fitted on {KINDS[fitted][0]}, but {asked} asks it about {KINDS[asked][0]}"
        f" (fit one on {asked} runs: ponder runs fit-stop --strategy {asked})"
    )


def require_state(policy: object, kind: StateKind) -> None:
    """A ConfigError when ``policy`` is a :class:`LearnedStop` fitted on another kind of state than ``kind``
    (a strategy calls this when it is built; policies of your own are not checked)."""
    if isinstance(policy, LearnedStop) and policy.state != kind:
        raise ConfigError(mismatch(policy.state, kind))


def parse_stop(spec: str | None) -> LearnedStop | None:
    """``--stop`` values: ``fixed`` (or empty: the strategy's own rules) or ``learned:PATH``."""
    if not spec or spec == "fixed":
        return None
    kind, _, path = spec.partition(":")
    if kind != "learned" or not path:
        raise ConfigError(f"unknown stop policy {spec!r} (use fixed or learned:PATH)")
    return LearnedStop.load(path)


class StopPolicy(Protocol):
    """Anything that decides, after a refine pass, whether to stop (a :class:`LearnedStop`, or your own)."""

    def should_stop(self, state: PassState) -> bool: ...


class VoteStopPolicy(Protocol):
    """Anything that decides, after a consistency wave, whether to stop (a :class:`LearnedStop` fitted on
    consistency waves, or your own)."""

    def should_stop(self, state: VoteState) -> bool: ...
