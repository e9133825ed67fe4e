"""Stop policies: when an iterative strategy should stop going on.

==================  ============================================================
module              concept
==================  ============================================================
``loop``            :class:`LoopDetector`: a react run repeating itself
``similarity``      :func:`similarity`: how much a draft changed (refine)
``vote``            :class:`Tally`, :func:`next_wave`: the arithmetic of a vote
``refine_features`` :class:`PassState` and its features; training rows of refine runs
``vote_features``   :class:`VoteState` and its features; training rows of consistency runs
``policy``          :class:`LearnedStop`, the stop policy protocols, ``--stop`` parsing
``fit``             :func:`fit`: a learned policy from labelled rows (scikit-learn)
==================  ============================================================

The package depends on nothing above it (no strategy, no engine), so strategies
import it freely.
"""

from __future__ import annotations

from .fit import fit
from .loop import LoopDetector
from .policy import (
    FORMAT,
    VERSION,
    LearnedStop,
    StateKind,
    StopPolicy,
    VoteStopPolicy,
    mismatch,
    parse_stop,
    require_state,
    state_features,
)
from .refine_features import FEATURES, PassState, features, labelled_rows, refine_passes, rows_from_outcome
from .similarity import similarity
from .vote import Tally, next_wave
from .vote_features import VOTE_FEATURES, VoteState, Wave, vote_features, vote_state, vote_waves, wave_rows

__all__ = [
    "FEATURES",
    "FORMAT",
    "VERSION",
    "VOTE_FEATURES",
    "LearnedStop",
    "LoopDetector",
    "PassState",
    "StateKind",
    "StopPolicy",
    "Tally",
    "VoteState",
    "VoteStopPolicy",
    "Wave",
    "features",
    "fit",
    "labelled_rows",
    "mismatch",
    "next_wave",
    "parse_stop",
    "refine_passes",
    "require_state",
    "rows_from_outcome",
    "similarity",
    "state_features",
    "vote_features",
    "vote_state",
    "vote_waves",
    "wave_rows",
]
