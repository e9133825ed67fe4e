"""How much a draft changed: the similarity ``refine`` stops on and the learned policy measures.

``refine`` converges when a revision is (nearly) the same as the draft it
revises, and the learned stop policy's ``change`` feature is one minus the same
ratio, so both live here, below the strategy and the policy alike.
"""

from __future__ import annotations

import difflib


def _normal(text: str) -> str:
    return " ".join(text.split()).lower()


def similarity(a: str, b: str) -> float:
    """Similarity of two drafts in [0, 1], ignoring case and whitespace."""
    return difflib.SequenceMatcher(None, _normal(a), _normal(b), autojunk=False).ratio()
