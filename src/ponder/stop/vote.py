"""The vote arithmetic of ``consistency``: a tally of weighted votes and the size of the next wave.

* **Ties** go to the answer whose first vote came earliest (lowest sample number).
* **Adaptive stopping** (:meth:`Tally.decided`): the vote is settled once the leader cannot be
  overtaken by the samples still to come (each adds at most weight 1), or once it leads by a
  ``margin``.
* **Greedy anchor** (``anchored``): sample 0 is the greedy answer, and it stands unless another
  answer holds more than half of all the weight.
* **Waves** (:func:`next_wave`): the smallest number of further samples that could settle the vote.

The live strategy (:mod:`ponder.strategies.consistency`) and the training rows of the learned
stop policy (:func:`ponder.stop.vote_waves`) tally with this same code, so a recorded run replays
into exactly the states a live run saw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..steps import TallyData

_EPS = 1e-9


@dataclass(slots=True)
class Tally:
    """Votes so far: weight, count and first sample per answer key.

    ``anchored``: sample 0 is the greedy answer; once it has voted, its key is
    ``anchor`` and the rules change (see :meth:`leader` and :meth:`decided`).
    """

    weight: dict[str, float] = field(default_factory=dict)
    count: dict[str, int] = field(default_factory=dict)
    first: dict[str, int] = field(default_factory=dict)
    samples: int = 0
    total_weight: float = 0.0
    anchored: bool = False
    anchor: str | None = None

    def add(self, sample: int, key: str | None, weight: float) -> None:
        self.samples += 1
        self.total_weight += weight
        if self.anchored and sample == 0:
            self.anchor = key
        if key is None:
            return
        self.weight[key] = self.weight.get(key, 0.0) + weight
        self.count[key] = self.count.get(key, 0) + 1
        self.first.setdefault(key, sample)

    def ranking(self) -> list[str]:
        """Answer keys, best first: most weight, then earliest first vote."""
        return sorted(self.weight, key=lambda k: (-self.weight[k], self.first[k]))

    def leader(self) -> str | None:
        """The answer the vote gives now: the plurality winner, or with an anchor the greedy
        answer unless another answer holds more than half of all the weight."""
        if self.anchor is not None:
            rival, weight = self.rival()
            return rival if rival is not None and weight > self.total_weight / 2 + _EPS else self.anchor
        ranked = self.ranking()
        return ranked[0] if ranked else None

    def rival(self) -> tuple[str | None, float]:
        """With an anchor: the strongest answer other than the greedy one, and its weight (None, 0.0 if none)."""
        rival = next((k for k in self.ranking() if k != self.anchor), None)
        return rival, self.weight[rival] if rival is not None else 0.0

    def lead(self) -> float:
        """The leader's weight minus the runner-up's (0 with no votes)."""
        ranked = self.ranking()
        if not ranked:
            return 0.0
        second = self.weight[ranked[1]] if len(ranked) > 1 else 0.0
        return self.weight[ranked[0]] - second

    def confidence(self) -> float:
        leader = self.leader()
        if leader is None or self.total_weight <= 0:
            return 0.0
        return self.weight[leader] / self.total_weight

    def decided(self, remaining: int, margin: float | None) -> str | None:
        """Why the vote is settled with ``remaining`` samples to come (each worth at most 1), or None."""
        if self.anchor is not None:
            return self._anchored_decided(remaining)
        ranked = self.ranking()
        if not ranked:
            return None
        leader = ranked[0]
        lead = self.lead()
        if margin is not None and lead >= margin - _EPS:
            return f"{leader} leads by {lead:g} (margin {margin:g})"
        if remaining == 0:
            return None
        # the strongest challenger: the runner-up, or a new answer (which would lose a tie)
        rival_weight = self.weight[ranked[1]] if len(ranked) > 1 else 0.0
        rival_first = self.first[ranked[1]] if len(ranked) > 1 else math.inf
        best_rival = rival_weight + remaining
        if best_rival < self.weight[leader] - _EPS or (
            abs(best_rival - self.weight[leader]) <= _EPS and self.first[leader] < rival_first
        ):
            return f"{leader} cannot be overtaken by the {remaining} sample{'s' if remaining > 1 else ''} left"
        return None

    def _anchored_decided(self, remaining: int) -> str | None:
        """The anchored rule: another answer wins only with more than half of all the weight."""
        rival, rival_weight = self.rival()
        final_most = self.total_weight + remaining  # the total weight if every remaining sample weighs 1
        if rival is not None and rival_weight > final_most / 2 + _EPS:
            return f"{rival} has more than half of the votes, whatever the {remaining} samples left say"
        # the best a rival can do: every remaining sample votes for it, with weight 1
        if 2 * rival_weight + remaining <= self.total_weight + _EPS:
            left = f" even with the {remaining} sample{'s' if remaining > 1 else ''} left" if remaining else ""
            return f"no other answer can win a majority against the greedy answer {self.anchor}{left}"
        return None

    def to_data(self) -> TallyData:
        data: TallyData = {
            "counts": dict(sorted(self.count.items(), key=lambda kv: self.ranking().index(kv[0]))),
            "leader": self.leader(),
            "confidence": round(self.confidence(), 4),
            "samples": self.samples,
            "abstained": self.samples - sum(self.count.values()),
        }
        if any(abs(self.weight[k] - self.count[k]) > _EPS for k in self.weight):
            data["weights"] = {k: round(self.weight[k], 4) for k in self.ranking()}
        return data

    def summary(self) -> str:
        parts = [f"{k} ×{self.count[k]}" for k in self.ranking()]
        return ", ".join(parts) if parts else "no answer extracted"


def next_wave(tally: Tally, taken: int, total: int, margin: float | None) -> int:
    """The smallest number of further samples that could settle the vote (at least 1)."""
    remaining = total - taken
    if tally.anchored and (tally.anchor is not None or taken == 0):
        # s more samples (each weighing at most 1) settle it for the greedy answer once
        # 2 * rival + remaining - s <= total + s, or for the rival once all s vote for it and
        # rival + s > (total + remaining) / 2; the wave is the smaller of the two
        _, rival = tally.rival()
        for_greedy = math.ceil((2 * rival + remaining - tally.total_weight) / 2 - _EPS)
        for_rival = math.floor((tally.total_weight + remaining) / 2 - rival + _EPS) + 1
        return max(1, min(remaining, for_greedy, for_rival))
    lead = tally.lead()
    size = math.floor((remaining - lead) / 2) + 1
    if margin is not None:
        size = min(size, math.ceil(margin - lead - _EPS))
    return max(1, min(remaining, size))
