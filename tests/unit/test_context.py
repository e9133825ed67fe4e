"""Lazy contexts, chunking, the BM25 filter and grounding."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from ponder.context import Context, bm25_scores, open_context, query_terms, split
from ponder.context.ground import evidence, fix_echoes, grounded, is_none
from ponder.context.reader import ContextFile
from ponder.errors import ConfigError

FILLER = "The harbour was quiet that morning and the boats rocked gently. " * 60


def test_chunks_cover_the_text_with_overlap_and_end_at_boundaries() -> None:
    ctx = Context.from_text(FILLER)
    chunks = list(split(ctx, chunk_bytes=500, overlap=100))
    assert chunks[0].start == 0 and chunks[-1].end == len(FILLER)
    for a, b in itertools.pairwise(chunks):
        assert b.start < a.end  # consecutive chunks overlap: no gap
        assert a.end - a.start <= 500
        assert a.text().endswith(". ") or a.text().endswith(" ")


def test_a_fact_near_a_chunk_edge_is_whole_in_some_chunk() -> None:
    fact = "The secret code for vintrel is 123456."
    for at in range(0, 1200, 37):
        text = FILLER[:at] + fact + FILLER[at:]
        chunks = split(Context.from_text(text), chunk_bytes=400, overlap=120)
        assert any(fact in c.text() for c in chunks), at


def test_file_and_folder_contexts_are_read_lazily(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("alpha " * 100)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("beta " * 100)
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    with open_context(tmp_path) as ctx:
        assert [d.name for d in ctx.documents] == ["a.txt", "sub/b.md"]
        assert all(isinstance(d.file, ContextFile) and d.text is None for d in ctx.documents)  # nothing read yet
        texts = [c.text() for c in split(ctx, chunk_bytes=200, overlap=20)]
        assert "beta" in texts[-1] and "alpha" in texts[0]
        assert ctx.size == 1100 and "folder" in ctx.describe()
    with pytest.raises(ConfigError, match="no such context"):
        open_context(tmp_path / "missing")


def test_bm25_ranks_the_chunk_with_the_rare_term_first() -> None:
    text = FILLER + "The secret code for vintrel is 123456. " + FILLER
    chunks, scores = bm25_scores(split(Context.from_text(text), 400, 100), query_terms("What is the code for vintrel?"))
    best = max(range(len(chunks)), key=lambda i: scores[i])
    assert "vintrel" in chunks[best].text()
    assert sum(1 for s in scores if s > 0) <= 2


def test_query_terms_drop_stop_words() -> None:
    assert query_terms("What is the secret code for Vintrel?") == ["secret", "code", "vintrel"]


def test_grounding_discards_made_up_and_echoed_answers() -> None:
    source = "Boats rocked. The secret code for vintrel is 123456. Gulls cried."
    q = "What is the secret code for vintrel?"
    assert grounded("The secret code for vintrel is 123456.", q, source)
    assert grounded("123456", q, source)
    assert not grounded("654321", q, source)  # hallucinated value
    assert not grounded("The secret code for vintrel is not in the text.", q, source)  # adds nothing
    assert not grounded("NONE", q, source) and is_none("none.") and is_none("  ")
    assert evidence("123456", q, source) == "The secret code for vintrel is 123456."


def test_a_miscopied_name_from_the_question_is_an_echo_not_a_claim() -> None:
    source = "Boats rocked. The secret code for fendorqui is 921872. Gulls cried."
    q = "What is the secret code for fendorqui?"
    reply = "The secret code for fenderqui is 921872."  # one letter of the name miscopied
    assert grounded(reply, q, source)
    assert fix_echoes(reply, q) == "The secret code for fendorqui is 921872."
    assert not grounded("The secret code for fenderqui is 921873.", q, source)  # the value must still be there
    assert not grounded(reply, q, "Boats rocked. The code 921872 opened it.")  # and so must the subject
    assert fix_echoes("The boat is red.", q) == "The boat is red."  # short and unrelated words stay


def test_grounding_needs_the_subject_in_the_source() -> None:
    q = "What is the secret code for vintrel?"
    other = "Programmers want a classic example of the dangers of deciding."
    # every added word is in the other chunk, but it never mentions vintrel: not supported
    assert not grounded("The secret code for vintrel is a classic example of the dangers.", q, other)
