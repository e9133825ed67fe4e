"""Checks over untrusted text stay bounded (issue 12, class 9).

Refine's convergence test used difflib (quadratic: a 10 KB reply took 6 s, 1 MB never finished). It
is now rapidfuzz's exact Indel ratio for differing middles up to ``EXACT_LIMIT`` characters and a
linear estimate beyond (see :mod:`ponder.stop.similarity`); grounding's near-copy search compares
a word only with question words of a compatible length, each distinct word once. These tests check
the values; how long they take is measured in benchmarks/similarity_bound.py (no timed assertions).
"""

from __future__ import annotations

import difflib
import random

import pytest

from ponder import Engine, GenerationOptions, ScriptedModel, strategies
from ponder.context.ground import echo_of, fix_echoes
from ponder.stop.similarity import EXACT_LIMIT, similarity


def _words(rng: random.Random, chars: int) -> str:
    out, size = [], 0
    while size < chars:
        word = "".join(rng.choice("abcdefghij") for _ in range(rng.randint(3, 8)))
        out.append(word)
        size += len(word) + 1
    return " ".join(out)


@pytest.mark.parametrize("seed", range(20))
def test_similarity_is_a_ratio_close_to_difflib_on_short_texts(seed):
    rng = random.Random(seed)
    a = _words(rng, rng.randint(0, 300))
    b = a if rng.random() < 0.2 else _words(rng, rng.randint(0, 300)) if rng.random() < 0.3 else a.replace("a", "b", 3)
    value = similarity(a, b)
    assert 0.0 <= value <= 1.0 and value == pytest.approx(similarity(b, a))
    reference = difflib.SequenceMatcher(None, " ".join(a.split()).lower(), " ".join(b.split()).lower(), autojunk=False)
    assert value >= reference.ratio() - 1e-9  # the exact LCS ratio; difflib's blocks can only find less
    assert similarity(a, a) == 1.0 and similarity("Same  Text", "same text") == 1.0


def test_a_local_edit_in_a_megabyte_is_measured_exactly():
    rng = random.Random(1)
    draft = _words(rng, 1_000_000)
    middle = len(draft) // 2
    revision = draft[:middle] + "Z" + draft[middle:]
    assert similarity(draft, revision) == pytest.approx(2 * len(draft) / (2 * len(draft) + 1))


def test_edits_all_over_a_megabyte_are_estimated_in_linear_time():
    rng = random.Random(2)
    draft = _words(rng, 1_000_000)
    revision = " ".join(w if rng.random() > 0.02 else w[::-1] + "q" for w in draft.split())
    value = similarity(draft, revision)
    assert 0.95 < value < 1.0  # ~2% of the words changed
    unrelated = _words(random.Random(3), 1_000_000)
    assert similarity(draft, unrelated.upper().replace("A", "K")) < 0.2
    assert len(draft) > EXACT_LIMIT


def test_refine_converges_on_a_megabyte_reply():
    """The issue's example: a 1 MB reply made refine's convergence check run forever."""
    huge = _words(random.Random(4), 1_000_000)
    model = ScriptedModel(lambda messages: huge, context_window=10**7)  # a window that holds the megabyte
    result = Engine(model, options=GenerationOptions(max_tokens=10**6)).run(strategies.Refine(max_rounds=3), "a lot")
    assert result.stop_reason == "converged" and result.answer == huge


def test_grounding_finds_echoes_without_comparing_every_pair():
    assert echo_of("fenderqui", "Who is Fendorqui?") == "fendorqui"
    assert echo_of("fendorqui", "Who is Fendorqui?") is None  # the word itself is no miscopy
    rng = random.Random(5)
    answer = "fenderqui " + _words(rng, 200_000)  # a long reply: each distinct word looked up once, at most 1000
    assert fix_echoes(answer, "Who is Fendorqui?").startswith("fendorqui ")
    question = _words(rng, 200_000)  # a long question: at most 1000 candidates
    assert len(fix_echoes(_words(rng, 200_000), question)) > 100_000
