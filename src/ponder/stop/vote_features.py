"""Consistency waves as states of the learned stop policy, and training rows from recorded runs.

**Live.** ``consistency`` draws its samples in waves (see
:mod:`ponder.strategies.consistency`). With a ``stop_policy``, after each wave
that leaves samples to draw and does not already settle the vote, it describes
the vote so far as a :class:`VoteState` (:func:`vote_state`) and stops when the policy says so. The
features (:data:`VOTE_FEATURES`, :func:`vote_features`) describe the vote, not
the text: samples drawn, samples still to come, the leader's share of all
sample weight (the run's confidence), the lead of the first answer over the
second (in votes, or weight for ``vote="weighted"``), the number of distinct
answers, the share of samples with no extractable answer, and the tokens of
the samples drawn so far (the sample calls only; with ``inner`` the child runs'
tokens are not visible to the strategy, so this is 0 both live and here).

**Training data** (:func:`vote_waves`). A recorded consistency run holds every
sample's extracted answer and weight (the ``votes`` of its ``vote`` steps) and
every sample call's tokens. The samples are tallied again in sample order and
cut into the waves a run with a stop policy draws (the first wave a majority of
the planned samples, then each wave the smallest number of samples that could
settle the vote: :func:`~ponder.stop.vote.next_wave`; with
``inner``, one sample per wave), so a run recorded with ``adaptive=False`` (all
samples in one batch) yields a state for every wave a policy would have been
shown. The tally and the state are built by
the same code as in a live run, so the features match exactly.

**Labels** (:func:`wave_rows`). The reference is the answer after *all* planned
samples: known when the run drew them all, or when it stopped early because the
leader could no longer be overtaken (checked again on the tally, so it is exact).
A run that stopped with the vote still open (a margin, a learned policy, a
budget) has no reference and yields no waves. Only waves with samples left are
rows (the policy is never asked after the last sample). A wave is labelled

* without a gold answer: 1 when stopping there would give a *different* answer
  than drawing all samples (its leader differs from the reference), else 0;
* with a gold answer (``correct``, called with a leader's extracted answer, the
  vote key): 1 when stopping there would be *worse* (its leader is wrong and the
  reference is right), else 0.

So 1 always means "keep sampling", as in refine's rows ("another pass helps"):
the policy stops when the predicted probability of 1 is below its threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import steps
from .vote import Tally, next_wave

VOTE_FEATURES = (
    "samples",
    "samples_left",
    "leader_share",
    "margin",
    "distinct_answers",
    "abstain_share",
    "tokens_used",
)


@dataclass(frozen=True, slots=True)
class VoteState:
    """What a consistency run knows after one wave of samples."""

    wave: int
    samples: int
    planned: int
    #: each answer's vote weight (its count under a majority vote), best first
    weights: tuple[float, ...] = ()
    abstained: int = 0
    total_weight: float = 0.0
    tokens_used: int = 0


def vote_state(tally: Tally, wave: int, planned: int, tokens: int) -> VoteState:
    """The vote so far as the state a stop policy sees after wave ``wave`` (0-based)."""
    weights = tuple(tally.weight[k] for k in tally.ranking())
    abstained = tally.samples - sum(tally.count.values())
    return VoteState(wave, tally.samples, planned, weights, abstained, tally.total_weight, tokens)


def vote_features(state: VoteState) -> list[float]:
    """The feature vector of a wave (in :data:`VOTE_FEATURES` order)."""
    leader = state.weights[0] if state.weights else 0.0
    second = state.weights[1] if len(state.weights) > 1 else 0.0
    return [
        float(state.samples),
        float(state.planned - state.samples),
        leader / state.total_weight if state.total_weight > 0 else 0.0,
        leader - second,
        float(len(state.weights)),
        state.abstained / state.samples if state.samples else 0.0,
        math.log1p(state.tokens_used),
    ]


@dataclass(frozen=True, slots=True)
class Wave:
    """One wave of a recorded run: its state, the answer if the run stopped there, and the reference."""

    state: VoteState
    leader: str | None
    reference: str | None


def vote_waves(events: Sequence[dict[str, Any]]) -> list[Wave]:
    """The waves (with samples left) of one recorded top-level consistency run; [] without a reference."""
    root = next((e["run_id"] for e in events if e["type"] == "run_started"), None)
    votes: list[steps.VoteEntry] = []
    planned = 0
    tokens: dict[int, int] = {}
    for event in events:
        if event["run_id"] != root:
            continue
        if event["type"] == "step" and event["kind"] == steps.VOTE:
            data: steps.VoteData = event["data"]
            votes.extend(data["votes"])
            planned = int(data["of"])
        elif event["type"] == "model_call" and event["kind"] == steps.SAMPLE:
            sample = event.get("data", {}).get("sample")
            if sample is not None:
                tokens[int(sample)] = tokens.get(int(sample), 0) + int(event["usage"].get("total_tokens", 0))
    votes.sort(key=lambda v: int(v["sample"]))
    full = Tally()
    for vote in votes:
        full.add(int(vote["sample"]), vote["answer"], float(vote["weight"]))
    if not votes or (full.samples < planned and full.decided(planned - full.samples, None) is None):
        return []
    reference = full.leader()
    # with ``inner`` each sample is a child run and a wave of its own
    inner = any(e["type"] == "run_started" and e.get("parent_run_id") == root for e in events)
    tally = Tally()
    waves: list[Wave] = []
    taken = used = 0
    while True:
        size = 1 if inner else next_wave(tally, taken, planned, None)
        if taken + size > len(votes):
            break
        for vote in votes[taken : taken + size]:
            tally.add(int(vote["sample"]), vote["answer"], float(vote["weight"]))
            used += tokens.get(int(vote["sample"]), 0)
        taken += size
        if taken >= planned:
            break
        waves.append(Wave(vote_state(tally, len(waves), planned, used), tally.leader(), reference))
    return waves


def wave_rows(
    waves: Sequence[Wave], correct: Callable[[str | None], bool] | None = None
) -> list[tuple[list[float], int]]:
    """Rows (features, label) of recorded waves: label 1 when stopping there would change the answer
    (without ``correct``) or make it worse (with ``correct``); see the module docs."""
    rows = []
    for wave in waves:
        if correct is None:
            label = wave.leader != wave.reference
        else:
            label = not correct(wave.leader) and correct(wave.reference)
        rows.append((vote_features(wave.state), int(label)))
    return rows
