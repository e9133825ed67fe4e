"""The numbers of a report: accuracy with a 95% Wilson interval, and exact McNemar tests of paired specs.

Both come from :mod:`scipy.stats` (``binomtest``): the interval is
``proportion_ci(method="wilson")``; the exact McNemar test is the two-sided
binomial test of the discordant pairs (items one spec got right and the other
wrong) against one half. Scipy is an optional dependency: ``pip install
'ponder-rlm[eval]'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from ..errors import ConfigError


def _binomtest() -> Any:
    try:
        from scipy.stats import binomtest
    except ImportError:
        raise ConfigError("ponder eval's statistics need scipy: pip install 'ponder-rlm[eval]'") from None
    return binomtest


@dataclass(frozen=True, slots=True)
class ArmStats:
    """One spec's summary over its rows (an errored item counts as incorrect)."""

    name: str
    spec_hash: str
    n: int
    correct: int
    accuracy: float | None
    ci_low: float | None
    ci_high: float | None
    mean_score: float | None
    mean_calls: float | None
    mean_tokens: float | None
    mean_seconds: float | None
    errors: int
    #: mean US dollars per item, over the items with a known cost (None: none had one)
    mean_cost: float | None = None
    #: mean calls (and their tokens) per item another arm or an earlier run made, served from the evaluation's
    #: cache, so not in ``mean_calls``; the arm alone would have made them too
    mean_shared_calls: float | None = None
    mean_shared_tokens: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__}


@dataclass(frozen=True, slots=True)
class Paired:
    """A spec against the baseline on the items both have: wins (only it right), losses, ties, exact McNemar p."""

    name: str
    baseline: str
    n: int
    wins: int
    losses: int
    ties: int
    p_value: float | None

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__slots__}


def wilson(correct: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of ``correct`` out of ``n``."""
    ci = _binomtest()(correct, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def mcnemar_exact(wins: int, losses: int) -> float:
    """The two-sided exact McNemar p-value of the discordant counts (1.0 when there are none)."""
    if wins + losses == 0:
        return 1.0
    return float(_binomtest()(wins, wins + losses, 0.5, alternative="two-sided").pvalue)


def arm_stats(name: str, spec_hash: str, rows: Sequence[dict[str, Any]]) -> ArmStats:
    n = len(rows)
    correct = sum(bool(r["correct"]) for r in rows)
    low, high = wilson(correct, n) if n else (None, None)

    def mean(key: str) -> float | None:
        return fmean(float(r[key]) for r in rows) if rows else None

    tokens = fmean(r["prompt_tokens"] + r["completion_tokens"] for r in rows) if rows else None

    def shared(key: str) -> float | None:  # rows written before these fields existed count none
        return fmean(float(r.get(key) or 0) for r in rows) if rows else None

    costs = [float(c) for r in rows if isinstance(c := r.get("cost"), int | float) and not isinstance(c, bool)]
    return ArmStats(
        name,
        spec_hash,
        n,
        correct,
        correct / n if n else None,
        low,
        high,
        mean("score"),
        mean("model_calls"),
        tokens,
        mean("seconds"),
        sum(r.get("error") is not None for r in rows),
        fmean(costs) if costs else None,
        shared("shared_calls"),
        shared("shared_tokens"),
    )


def paired(name: str, baseline: str, rows: dict[str, dict[str, Any]], base_rows: dict[str, dict[str, Any]]) -> Paired:
    """``rows`` and ``base_rows`` map item id to row; only items in both count."""
    common = [item for item in base_rows if item in rows]
    wins = sum(bool(rows[i]["correct"]) and not base_rows[i]["correct"] for i in common)
    losses = sum(bool(base_rows[i]["correct"]) and not rows[i]["correct"] for i in common)
    p_value = mcnemar_exact(wins, losses) if common else None
    return Paired(name, baseline, len(common), wins, losses, len(common) - wins - losses, p_value)
