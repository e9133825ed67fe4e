"""How much a draft changed: the similarity ``refine`` stops on and the learned policy measures.

``refine`` converges when a revision is (nearly) the same as the draft it
revises, and the learned stop policy's ``change`` feature is one minus the same
ratio, so both live here, below the strategy and the policy alike.

The texts are model output, so their length is not ponder's to choose, and the
check must stay cheap however long they are. The ratio is the normalised Indel
similarity ``2 * LCS / (len(a) + len(b))`` (what ``difflib``'s ratio
approximates), computed exactly by rapidfuzz's bit-parallel C code when the two
texts, once their common beginning and end are set aside, differ in at most
:data:`EXACT_LIMIT` characters each. Past that (long texts edited all over), the
differing middle is estimated in linear time by the characters of the words the
two middles share (a multiset overlap, blind to word order), so a check takes
milliseconds for 100 KB and well under a second for 1 MB.
"""

from __future__ import annotations

from collections import Counter

from rapidfuzz.distance import Indel

#: differing middles up to this many characters are compared exactly
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
    start = _common_prefix(x, y)
    end = _common_prefix(x[start:][::-1], y[start:][::-1])
    mid_x, mid_y = x[start : len(x) - end], y[start : len(y) - end]
    if max(len(mid_x), len(mid_y)) <= EXACT_LIMIT:
        shared = len(mid_x) + len(mid_y) - Indel.distance(mid_x, mid_y)  # 2 * LCS of the middles
    else:
        shared = 2 * _shared_word_chars(mid_x, mid_y)
    return (2 * (start + end) + shared) / (len(x) + len(y))


def _common_prefix(x: str, y: str) -> int:
    """Length of the common prefix: a binary search of C-speed slice comparisons."""
    low, high = 0, min(len(x), len(y))
    while low < high:
        mid = (low + high + 1) // 2
        if x[:mid] == y[:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _shared_word_chars(x: str, y: str) -> int:
    """Characters (a separator per word included) of the words ``x`` and ``y`` have in common, with repeats:
    an estimate of their LCS that takes linear time."""
    left, right = Counter(x.split(" ")), Counter(y.split(" "))
    if len(left) > len(right):
        left, right = right, left
    shared = sum(min(count, right[word]) * (len(word) + 1) for word, count in left.items() if word in right)
    return min(shared, len(x), len(y))
