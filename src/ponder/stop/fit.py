"""Fitting a learned stop policy on labelled rows (needs scikit-learn: ``pip install 'ponder-rlm[learn]'``).

Rows come from recorded runs: :func:`~ponder.stop.refine_features.labelled_rows` and
:func:`~ponder.stop.refine_features.rows_from_outcome` for refine passes,
:func:`~ponder.stop.vote_features.wave_rows` for consistency waves.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import ConfigError
from .policy import KINDS, LearnedStop, StateKind


def fit(
    rows: Iterable[tuple[list[float], int]],
    *,
    threshold: float = 0.5,
    min_passes: int = 0,
    state: StateKind = "refine",
) -> LearnedStop:
    """Fit the policy on labelled rows of ``state`` features (needs scikit-learn); label 1 means going on
    pays off. With one class only, the policy is constant."""
    data = list(rows)
    if not data:
        raise ConfigError(f"no training rows: record some {state} runs with outcomes first")
    if state in KINDS and any(len(x) != len(KINDS[state][1]) for x, _ in data):
        raise ConfigError(f"the training rows are not {KINDS[state][0]} (wrong number of features)")
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        raise ConfigError("fitting a stop policy needs scikit-learn: pip install 'ponder-rlm[learn]'") from None
    xs = [x for x, _ in data]
    ys = [y for _, y in data]
    if len(set(ys)) < 2:  # nothing to separate: always (or never) go on
        return LearnedStop.constant(not ys[0], state, min_passes)
    scaler = StandardScaler().fit(xs)
    mean = tuple(float(v) for v in scaler.mean_)
    scale = tuple(float(v) or 1.0 for v in scaler.scale_)
    model = LogisticRegression(class_weight="balanced", C=1.0, max_iter=1000)
    model.fit(scaler.transform(xs), ys)
    weights = tuple(float(w) for w in model.coef_[0])
    return LearnedStop(weights, float(model.intercept_[0]), mean, scale, threshold, min_passes, state)
