"""Grounding: keep only answers supported by the text they came from.

A small model asked about a chunk that does not hold the answer often makes
one up ("The secret code for X is 42") or restates the question. A candidate
is *grounded* when it says something beyond the question and every content
word it states (its subject too) occurs in its source text; the sentence of the source that holds
those words is kept as the evidence.
"""

from __future__ import annotations

import re

from rapidfuzz import process
from rapidfuzz.distance import Indel

from .filter import STOP_WORDS

_WORDS = re.compile(r"[A-Za-z0-9_]+")
_NONE = re.compile(r"^\W*(none|n/a|no answer|not (found|given|mentioned|stated|in the text))\b", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?\n]*[.!?\n]?")


def is_none(reply: str) -> bool:
    """Whether ``reply`` says the text does not answer (NONE, empty, ...)."""
    text = reply.strip()
    return not text or bool(_NONE.match(text))


def added_words(answer: str, question: str) -> list[str]:
    """The content words of ``answer`` that the question does not already contain."""
    asked = {w.lower() for w in _WORDS.findall(question)}
    out = []
    for w in _WORDS.findall(answer):
        low = w.lower()
        if low not in asked and low not in STOP_WORDS and low not in out:
            out.append(low)
    return out


def echo_of(word: str, question: str, index: QuestionWords | None = None) -> str | None:
    """The question's word that ``word`` miscopies (``fenderqui`` for ``fendorqui``), if any.

    Small models often echo a rare name from the question with one letter
    wrong; such an echo restates the subject, it is not a claim. ``index``: the
    question's words indexed once (:class:`QuestionWords`), for many words.
    """
    return (index or QuestionWords(question)).echo_of(word)


class QuestionWords:
    """A question's words of five letters or more, indexed by length, to find near-copies in bounded time.

    A near-copy (Indel similarity >= 0.8) of a word has a length within 2/3 to 3/2 of it, so only those are
    compared (rapidfuzz, in C), each distinct word once. The work is bounded whatever the texts: at most
    :data:`MAX_WORDS` distinct question words are candidates and at most :data:`MAX_WORDS` distinct words
    of the texts are looked up (the ones after that are taken as they are)."""

    def __init__(self, question: str) -> None:
        self._by_length: dict[int, list[str]] = {}
        asked = sorted({w.lower() for w in _WORDS.findall(question) if len(w) >= 5})
        for word in asked[:MAX_WORDS]:
            self._by_length.setdefault(len(word), []).append(word)
        self._seen: dict[str, str | None] = {}

    def echo_of(self, word: str) -> str | None:
        low = word.lower()
        if len(low) < 5 or low.isdigit():
            return None
        if low not in self._seen:
            if len(self._seen) >= MAX_WORDS:
                return None
            size = len(low)
            near = [
                asked
                for length in range(-(-2 * size // 3), 3 * size // 2 + 1)
                for asked in self._by_length.get(length, ())
                if asked != low
            ]
            best = process.extractOne(low, near, scorer=Indel.normalized_similarity, score_cutoff=0.8)
            self._seen[low] = best[0] if best is not None else None
        return self._seen[low]


#: the most distinct words :class:`QuestionWords` takes as candidates, and looks up
MAX_WORDS = 1000


def grounded(answer: str, question: str, source: str) -> bool:
    """True when ``answer`` adds something to the question and every content word it states
    (the question's words it repeats included, so its subject too) occurs in ``source``.

    A near-copy of a question word (see :func:`echo_of`) stands for that word.
    """
    if is_none(answer):
        return False
    fixed = fix_echoes(answer, question)
    if not added_words(fixed, question):
        return False
    present = {w.lower() for w in _WORDS.findall(source)}
    stated = {w.lower() for w in _WORDS.findall(fixed)} - STOP_WORDS
    return all(w in present for w in stated)


def fix_echoes(answer: str, question: str) -> str:
    """``answer`` with each miscopied question word replaced by the question's spelling."""

    index = QuestionWords(question)

    def repl(m: re.Match[str]) -> str:
        return index.echo_of(m.group(0)) or m.group(0)

    return _WORDS.sub(repl, answer)


def evidence(answer: str, question: str, source: str, limit: int = 300) -> str:
    """The sentence of ``source`` that holds most of the words ``answer`` adds (for the reduce step)."""
    new = set(added_words(answer, question))
    best, best_hits = "", -1
    for m in _SENTENCE.finditer(source):
        sentence = m.group(0).strip()
        if not sentence:
            continue
        hits = len(new & {w.lower() for w in _WORDS.findall(sentence)})
        if hits > best_hits:
            best, best_hits = sentence, hits
    return best[:limit]
