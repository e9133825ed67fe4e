"""Refine passes as states of the learned stop policy, and training rows from recorded runs.

After each pass of a refine run (the first draft, then every revision) the
state is a :class:`PassState`, summarised as a few numbers (:func:`features`):
the pass index, how much the last revision changed the draft, what the critique
said, how long the draft is, whether it was cut off, and the tokens used so far.

**Training data.** :func:`refine_passes` rebuilds the pass states of a recorded
run from its ``draft``, ``critique`` and ``revision`` model calls; rows are
labelled from a gold answer (:func:`labelled_rows`) or from the run's recorded
outcome alone (:func:`rows_from_outcome`). Label 1 means another pass helps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import steps
from .similarity import similarity

#: the features of a refine pass
FEATURES = (
    "pass_index",
    "change",
    "critique_words",
    "critique_no_issues",
    "draft_words",
    "draft_has_number",
    "truncated",
    "tokens_used",
)


@dataclass(frozen=True, slots=True)
class PassState:
    """What a refine run knows after one pass."""

    pass_index: int
    draft: str
    previous: str | None = None
    critique: str | None = None
    truncated: bool = False
    tokens_used: int = 0
    no_issues: bool = False


def features(state: PassState) -> list[float]:
    """The feature vector of a pass (in :data:`FEATURES` order)."""
    change = 1.0 - similarity(state.draft, state.previous) if state.previous is not None else 1.0
    critique = state.critique or ""
    return [
        float(state.pass_index),
        change,
        math.log1p(len(critique.split())),
        1.0 if state.no_issues else 0.0,
        math.log1p(len(state.draft.split())),
        1.0 if any(ch.isdigit() for ch in state.draft) else 0.0,
        1.0 if state.truncated else 0.0,
        math.log1p(state.tokens_used),
    ]


def refine_passes(events: Sequence[dict[str, Any]]) -> list[PassState]:
    """The pass states of one recorded top-level refine run (its draft, then each revision)."""
    root = next((e["run_id"] for e in events if e["type"] == "run_started"), None)
    passes: list[PassState] = []
    tokens = 0
    critique: str | None = None
    no_issues = False
    for event in events:
        if event["type"] != "model_call" or event["run_id"] != root:
            continue
        tokens += int(event.get("usage", {}).get("total_tokens", 0))
        text = event["text"].strip()
        if event["kind"] == steps.CRITIQUE:
            critique = text
            no_issues = text.lstrip("-*# ").upper().startswith("NO ISSUES")
        elif event["kind"] in (steps.DRAFT, steps.REVISION) and text:
            previous = passes[-1].draft if passes else None
            truncated = event.get("finish_reason") == "length"
            passes.append(PassState(len(passes), text, previous, critique, truncated, tokens, no_issues))
    return passes


def labelled_rows(passes: Sequence[PassState], correct: Callable[[str], bool]) -> list[tuple[list[float], int]]:
    """Rows (features, label): label 1 when the draft is wrong and a later pass of the run gets it right."""
    ok = [correct(p.draft) for p in passes]
    return [(features(p), int(not ok[i] and any(ok[i + 1 :]))) for i, p in enumerate(passes)]


def rows_from_outcome(passes: Sequence[PassState], final_correct: bool) -> list[tuple[list[float], int]]:
    """Rows when only the run's outcome is known (``ponder runs fit-stop``): a pass is labelled 1 when the
    run ended correct and the answer still changed after it (a later pass made the difference)."""
    final = passes[-1].draft if passes else ""
    return [
        (features(p), int(final_correct and i < len(passes) - 1 and similarity(p.draft, final) < 0.98))
        for i, p in enumerate(passes)
    ]
