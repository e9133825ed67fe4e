"""How much a draft changed: the similarity ``refine`` stops on and the learned policy measures.

``refine`` converges when a revision is (nearly) the same as the draft it
revises, and the learned stop policy's ``change`` feature is one minus the same
ratio, so both live here, below the strategy and the policy alike.

The texts are model output, so their length is not ponder's to choose: the
ratio is the normalised Indel similarity (what ``difflib``'s ratio approximates,
``2 * LCS / (len(a) + len(b))``) computed by rapidfuzz's bit-parallel C code up
to :data:`EXACT_LIMIT` characters, and past it a linear-time estimate (the Dice
overlap of the two texts' word-trigram multisets), so a check never takes more
than milliseconds, whatever a model writes.
"""

from __future__ import annotations

from collections import Counter

from rapidfuzz.distance import Indel

#: texts up to this many characters (after normalising) are compared exactly
EXACT_LIMIT = 20_000


def _normal(text: str) -> str:
    return " ".join(text.split()).lower()


def similarity(a: str, b: str) -> float:
    """Similarity of two drafts in [0, 1], ignoring case and whitespace (see the module docs)."""
    x, y = _normal(a), _normal(b)
    if x == y:
        return 1.0
    if max(len(x), len(y)) <= EXACT_LIMIT:
        return float(Indel.normalized_similarity(x, y))
    return _shingle_dice(x, y)


def _shingle_dice(x: str, y: str) -> float:
    """Dice overlap of the word-trigram multisets of ``x`` and ``y``: linear in their length."""
    left, right = _shingles(x), _shingles(y)
    total = sum(left.values()) + sum(right.values())
    if total == 0:
        return 1.0
    shared = sum((left & right).values())
    return 2 * shared / total


def _shingles(text: str) -> Counter[tuple[str, ...]]:
    words = text.split(" ")
    if len(words) < 3:
        return Counter([tuple(words)])
    return Counter(zip(words, words[1:], words[2:], strict=False))
