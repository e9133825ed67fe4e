"""``consistency``: sample several answers, extract each one's final answer, vote (Wang et al., self-consistency).

Samples are drawn at ``temperature`` with distinct seeds (``seed``, ``seed + 1``, ...):

* without ``inner``, each sample is one model call on the same prompt as
  ``single``; samples are issued as :class:`~ponder.requests.Batch` es, which
  the engine runs concurrently on backends that allow it;
* with ``inner`` (react, refine, any strategy), each sample is a child run of
  it, whose model calls all get the sample's temperature and seed.

Each sample's answer is reduced to a key by the extractor (``last_number``,
``regex:PATTERN``, ``answer``, ``lm`` or a callable; see :mod:`ponder.extract`);
a sample with no key abstains. Votes are counted (``majority``) or summed
(``weighted``: a sample's weight is the score of the ``weigh`` verifier, or by
default 1.0 for a sample that finished and 0.5 for one cut off by its token
limit or a budget).

**Ties** go to the answer whose first vote came earliest (lowest sample number).

**Greedy anchor** (``anchor=True``, ``--anchor``): a conservative vote for
models whose samples are noisy. Sample 0 is the greedy answer (the prompt of
``single`` at temperature 0) and samples 1.. are drawn at ``temperature``. The
greedy answer stands unless another answer holds **more than half** of all the
votes (3 of 5, 6 of 10), not merely a plurality: two wrong samples that happen
to agree do not overturn it. Adaptive stopping follows the same rule (it stops
once no other answer can still reach a majority, or one already has it), and
the first wave is half the samples. With ``vote="weighted"`` it is half of all
the weight. A greedy sample without an extractable answer abstains and the
plain plurality vote applies. With ``inner``, sample 0's child run gets
temperature 0 for every call that does not set a temperature of its own (a
``tree`` or nested ``consistency`` inside does). A ``margin`` does not combine
with the anchor. A learned stop policy sees the same vote state with or
without it.

**Adaptive stopping**: sampling stops as soon as the leader cannot be overtaken
by the samples still to come (each can add at most weight 1), or as soon as
it leads by ``margin``. Batches come in waves: each wave is the smallest number
of samples that could decide the vote (the first wave is a majority of
``samples``: 3 of 5, 6 of 10).

**Learned stopping**: with a ``stop_policy`` (e.g. a
:class:`~ponder.stop_learned.LearnedStop` fitted on consistency waves, ``--stop
learned:PATH``), after each wave that leaves samples to draw and does not
already settle the vote, the vote so far is described as a
:class:`~ponder.stop_consistency.VoteState` and the policy is asked whether to
stop; if it says so, a ``check`` step (verdict ``learned_stop``) is recorded and
the leader is the answer (stop reason ``converged``). With a policy, samples
come in waves even when ``adaptive=False`` (the policy then decides alone).

The agreement (the winner's share of all sample weight) is the confidence,
reported in the outcome's detail and in each ``vote`` step's data (votes,
counts, confidence), so ``--json`` shows every sample and how the vote went.
The answer is the text of the winner's first sample (``answer="sample"``) or
the extracted key itself (``answer="extracted"``).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from .. import prompts
from ..errors import ConfigError, StopRun
from ..extract import Extractor, extract_all, extractor
from ..requests import Batch, Child, Generate, Outcome, Record, Request, StrategyGen
from ..stop_consistency import VoteState
from ..stop_learned import VoteStopPolicy, require_state
from ..types import Completion, system, user
from ..verifiers.base import Verifier
from .base import Strategy

_EPS = 1e-9
_FINISHED = frozenset({"answered", "converged"})
T = TypeVar("T")
Steps = Generator[Request, Any, T]
#: one drawn sample: its answer text (None: no answer), whether it finished normally, and its tokens
Drawn = tuple[str | None, bool, int]


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

    def state(self, wave: int, planned: int, tokens: int) -> VoteState:
        """The vote so far as the state a stop policy sees (see :mod:`ponder.stop_consistency`)."""
        weights = tuple(self.weight[k] for k in self.ranking())
        abstained = self.samples - sum(self.count.values())
        return VoteState(wave, self.samples, planned, weights, abstained, self.total_weight, tokens)

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
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


@dataclass(frozen=True)
class Consistency:
    """Self-consistency: sample, extract, vote, stop early (see the module docs)."""

    inner: Strategy | None = None
    samples: int = 5
    temperature: float = 0.7
    extract: str | Extractor = "last_number"
    vote: Literal["majority", "weighted"] = "majority"
    adaptive: bool = True
    margin: float | None = None
    weigh: Verifier | None = None
    seed: int = 0
    answer: Literal["sample", "extracted"] = "sample"
    system_prompt: str | None = None
    name: str = "consistency"
    #: sample 0 is greedy (temperature 0); it stands unless another answer has a majority (see the module docs)
    anchor: bool = False
    #: asked after each undecided wave (e.g. a :class:`~ponder.stop_learned.LearnedStop`); stops when it says so
    stop_policy: VoteStopPolicy | None = None

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise ConfigError(f"consistency needs samples >= 1, got {self.samples}")
        if self.temperature <= 0:
            raise ConfigError(f"consistency samples at a temperature > 0, got {self.temperature}")
        if self.vote not in ("majority", "weighted"):
            raise ConfigError(f"unknown vote {self.vote!r} (use majority or weighted)")
        if self.answer not in ("sample", "extracted"):
            raise ConfigError(f"unknown answer mode {self.answer!r} (use sample or extracted)")
        if self.margin is not None and self.margin <= 0:
            raise ConfigError(f"margin must be > 0, got {self.margin}")
        if self.weigh is not None and self.vote != "weighted":
            raise ConfigError("weigh= needs vote='weighted'")
        if self.margin is not None and self.anchor:
            raise ConfigError("a margin does not apply to an anchored vote (it has its own majority rule)")
        if self.margin is not None and not self.adaptive:
            raise ConfigError("a margin is an adaptive stopping rule; it needs adaptive=True")
        extractor(self.extract)  # fail early on a bad spec
        require_state(self.stop_policy, "consistency")

    def run(self, question: str) -> StrategyGen:
        tally = Tally(anchored=self.anchor)
        texts: dict[int, str] = {}
        taken = tokens = wave_index = 0
        waves = self.adaptive or self.stop_policy is not None
        try:
            while taken < self.samples:
                size = next_wave(tally, taken, self.samples, self.margin) if waves else self.samples
                if self.inner is not None:
                    size = 1
                ids = list(range(taken, taken + size))
                wave = yield from self._draw(question, ids)
                wave_keys = yield from extract_all(self.extract, question, [t for t, _, _ in wave], ids)
                votes = []
                for sample, (text, finished, used), key in zip(ids, wave, wave_keys, strict=True):
                    tokens += used
                    weight = yield from self._weight(question, text, finished)
                    tally.add(sample, key, weight)
                    texts[sample] = text or ""
                    vote = {"sample": sample, "seed": self.seed + sample, "answer": key, "weight": weight}
                    if self.anchor and sample == 0:
                        vote["greedy"] = True
                    votes.append(vote)
                taken += size
                reason = tally.decided(self.samples - taken, self.margin) if self.adaptive else None
                learned = (
                    reason is None
                    and taken < self.samples
                    and self.stop_policy is not None
                    and self.stop_policy.should_stop(tally.state(wave_index, self.samples, tokens))
                )
                wave_index += 1
                done = reason is not None or taken >= self.samples or learned
                yield Record("vote", self._vote_text(tally, reason), self._vote_data(tally, votes, reason, done))
                if learned:
                    yield Record(
                        "check",
                        "the learned stop policy expects more samples not to change the vote",
                        {"verdict": "learned_stop"},
                    )
                    why = "the learned stop policy predicts more samples would not change the vote"
                    return self._outcome(tally, texts, "converged", why)
                if reason is not None:
                    return self._outcome(tally, texts, "converged" if taken < self.samples else "answered", "")
            return self._outcome(tally, texts, "answered", "")
        except StopRun as stop:
            return self._outcome(tally, texts, stop.reason, stop.detail)

    # -- sampling -----------------------------------------------------------

    def _draw(self, question: str, ids: list[int]) -> Steps[list[Drawn]]:
        """One wave of samples: [(text or None, finished normally)]."""
        if self.inner is not None:
            out: list[Drawn] = []
            for sample in ids:
                temperature = self._temperature(sample)
                outcome: Outcome = yield Child(self.inner, question, temperature, self.seed + sample)
                out.append((outcome.answer, outcome.stop_reason in _FINISHED, 0))  # child tokens are not visible here
            return out
        sys_prompt = self.system_prompt if self.system_prompt is not None else prompts.load("system")
        messages = [system(sys_prompt), user(question)]
        requests = Generate.samples(messages, "sample", self._temperature, self.seed, ids, "sample")
        if len(requests) == 1:
            completions: list[Completion] = [(yield requests[0])]
        else:
            completions = yield Batch(requests)
        return [(c.text.strip(), c.finish_reason == "stop", c.usage.total_tokens) for c in completions]

    def _temperature(self, sample: int) -> float:
        return 0.0 if self.anchor and sample == 0 else self.temperature

    def _weight(self, question: str, text: str | None, finished: bool) -> Steps[float]:
        if self.vote == "majority":
            return 1.0
        if self.weigh is not None:
            if not text:
                return 0.0
            verdict = yield from self.weigh.check(question, text)
            return verdict.value
        return 1.0 if finished else 0.5

    # -- reporting ----------------------------------------------------------

    def _vote_text(self, tally: Tally, reason: str | None) -> str:
        text = f"after {tally.samples} of {self.samples} samples: {tally.summary()}"
        text += f"; confidence {tally.confidence():.2f}"
        return text + (f"; stop: {reason}" if reason else "")

    def _vote_data(self, tally: Tally, votes: list[dict[str, Any]], reason: str | None, done: bool) -> dict[str, Any]:
        data = {"votes": votes, **tally.to_data(), "of": self.samples, "vote": self.vote, "final": done}
        if reason is not None:
            data["stopped_early"] = tally.samples < self.samples
            data["reason"] = reason
        return data

    def _outcome(self, tally: Tally, texts: dict[int, str], reason: str, why: str) -> Outcome:
        leader = tally.leader()
        prefix = f"{why}; " if why else ""
        if leader is None:
            fallback = next((t for t in texts.values() if t), None)
            detail = f"{prefix}no answer could be extracted from {tally.samples} samples (confidence 0.00)"
            return Outcome(fallback, reason, detail)  # type: ignore[arg-type]
        first = tally.first[leader]
        answer = leader if self.answer == "extracted" else texts[first]
        agree = tally.count[leader]
        detail = (
            f"{prefix}{leader}: {agree} of {tally.samples} samples agree (confidence {tally.confidence():.2f}; "
            f"{tally.summary()})"
        )
        if reason == "converged":
            detail += f"; stopped early after {tally.samples} of {self.samples} samples"
        return Outcome(answer, reason, detail)  # type: ignore[arg-type]
