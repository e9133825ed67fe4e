"""Rank chunks against a question with BM25, in one streaming pass.

Only the question's terms are counted, so memory is O(number of chunks) and a
1M-token input is scored in a few seconds; no index of the whole vocabulary is
built.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from .chunks import Chunk

_STOP_WORDS = """a an and are as at be by for from has have how i in is it its of on or that the this to was were what when
    where which who whom why will with do does did can could would should you your their there these those than
    then them they we our not no yes about into over under all any some one two many much more most text passage
    question answer tell me please find"""
#: words ignored by the filter and by grounding
STOP_WORDS = frozenset(_STOP_WORDS.split())


def query_terms(question: str) -> list[str]:
    """The content words of ``question`` (lower case, stop words dropped, de-duplicated, in order)."""
    seen: list[str] = []
    for w in re.findall(r"[A-Za-z0-9_]+", question.lower()):
        if len(w) > 1 and w not in STOP_WORDS and w not in seen:
            seen.append(w)
    return seen


def bm25_scores(
    chunks: Iterable[Chunk], terms: list[str], k1: float = 1.2, b: float = 0.75
) -> tuple[list[Chunk], list[float]]:
    """Return every chunk and its BM25 score for ``terms`` (0 when no term occurs)."""
    all_chunks: list[Chunk] = []
    if not terms:
        listed = list(chunks)
        return listed, [0.0] * len(listed)
    pattern = re.compile(
        rb"(?<![A-Za-z0-9_])(" + b"|".join(re.escape(t.encode()) for t in terms) + rb")(?![A-Za-z0-9_])", re.IGNORECASE
    )
    counts: list[dict[str, int]] = []
    lengths: list[int] = []
    for chunk in chunks:
        raw = chunk.raw()
        tf: dict[str, int] = {}
        for m in pattern.finditer(raw):
            t = m.group(1).lower().decode()
            tf[t] = tf.get(t, 0) + 1
        all_chunks.append(chunk)
        counts.append(tf)
        lengths.append(raw.count(b" ") + 1)
    n = len(all_chunks)
    if n == 0:
        return [], []
    avg = sum(lengths) / n
    df = {t: sum(1 for tf in counts if t in tf) for t in terms}
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in terms}
    scores = []
    for tf, length in zip(counts, lengths, strict=True):
        s = 0.0
        for t, f in tf.items():
            s += idf[t] * f * (k1 + 1) / (f + k1 * (1 - b + b * length / avg))
        scores.append(s)
    return all_chunks, scores
