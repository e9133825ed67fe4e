"""Cut a context into records for aggregation: one per line, or one per sentence.

A document whose lines are short (on average at most ``max_bytes`` in its
first 64 KiB) is a list of records, one per non-blank line; any other text
(paragraphs on one line, one long blob) is cut into sentences. Prose with hard
line wraps therefore counts lines, which is what a log or a table needs.

Records are byte ranges (:class:`~ponder.context.Chunk`) found by scanning the
document a block at a time; nothing is decoded until a record is read, so
counting the records of a large file costs one pass and one block of memory.
A record longer than ``max_bytes`` is cut to its first ``max_bytes`` bytes (it
still counts once).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from .chunks import Chunk
from .reader import Blocks
from .source import Context, Document

Unit = Literal["lines", "sentences"]

_SAMPLE = 64 * 1024
_SENTENCE_END = re.compile(rb"[.!?]+(?=\s)|\n[ \t\r]*\n")
_SPACE = b" \t\r\n\f\v"


def record_unit(document: Document, max_bytes: int = 500) -> Unit:
    """``lines`` when the document's lines are short on average (its first 64 KiB), else ``sentences``."""
    sample = document.raw(0, _SAMPLE)
    lines = sample.split(b"\n")
    if len(sample) == _SAMPLE and len(lines) > 1:
        lines.pop()  # cut in half by the sample
    kept = [line for line in lines if line.strip()]
    if not kept:
        return "lines"
    return "lines" if sum(len(line) for line in kept) / len(kept) <= max_bytes else "sentences"


def records(context: Context, max_bytes: int = 500) -> Iterator[Chunk]:
    """Yield every record of ``context`` in order (see the module docs), blank ones skipped."""
    if max_bytes <= 0:
        raise ValueError("need max_bytes > 0")
    index = 0
    for doc in context.documents:
        blocks = doc.blocks()
        spans = _lines(blocks) if record_unit(doc, max_bytes) == "lines" else _sentences(blocks)
        for start, end, data, at in spans:
            span = _trim(blocks, data, at, start, end)
            if span is None:
                continue
            yield Chunk(index, doc, span[0], min(span[1], span[0] + max_bytes))
            index += 1


def count_records(context: Context, max_bytes: int = 500) -> int:
    """How many records :func:`records` yields (one streaming pass)."""
    return sum(1 for _ in records(context, max_bytes))


def _lines(blocks: Blocks) -> Iterator[tuple[int, int, bytes, int]]:
    """The lines' ``(start, end)``, each with the block it ends in (``data`` and its offset ``at``)."""
    start = pos = 0  # the line begins at start; its end is looked for from pos
    size = blocks.size
    while pos < size:
        data, at = blocks.at(pos)
        cut = data.find(b"\n", pos - at)
        while cut != -1:
            yield start, at + cut, data, at
            start = pos = at + cut + 1
            cut = data.find(b"\n", pos - at)
        pos = at + len(data)
    if start < size:
        yield start, size, data, at


def _sentences(blocks: Blocks) -> Iterator[tuple[int, int, bytes, int]]:
    """The sentences' ``(start, end)``, each with the block it ends in (``data`` and its offset ``at``)."""
    start = pos = 0  # the sentence begins at start; the pattern resumes at pos
    size, need = blocks.size, 1
    while pos < size:
        data, at = blocks.at(pos, need)
        for m in _SENTENCE_END.finditer(data, pos - at):
            yield start, at + m.end(), data, at
            start = at + m.end()
        end = at + len(data)
        if end >= size:
            break
        pos = max(start, at + _undecided(data))
        need = 2 * (end - pos) + 1  # past this block's end (doubling, should the undecided run be long)
    if start < size:
        yield start, size, data, at


def _undecided(data: bytes) -> int:
    """Where the bytes that the next block may still turn into a sentence end begin, near the end of ``data``.

    Only a trailing run of ``.!?`` (waiting for the space after it) or a final
    newline followed by blanks (waiting for a second newline) is undecided; no
    match can begin earlier without ending inside ``data``.
    """
    undecided = len(data.rstrip(b".!?"))
    rest = data.rstrip(b" \t\r")
    if rest.endswith(b"\n"):
        undecided = min(undecided, len(rest) - 1)
    return undecided


def _trim(blocks: Blocks, data: bytes, at: int, start: int, end: int, step: int = 256) -> tuple[int, int] | None:
    """``start:end`` without surrounding whitespace (``None`` when blank), reading ``step`` bytes at a time
    (from ``data``, the block at offset ``at``, while the bytes are in it)."""
    while start < end:
        stop = min(end, start + step)
        if start < at or stop > at + len(data):
            data, at = blocks.span(start, stop)
        head = data[start - at : stop - at]
        lead = len(head) - len(head.lstrip(_SPACE))
        start += lead
        if lead < len(head):
            break
    while end > start:
        low = max(start, end - step)
        if low < at or end > at + len(data):
            data, at = blocks.span(low, end)
        tail = data[low - at : end - at]
        trail = len(tail) - len(tail.rstrip(_SPACE))
        end -= trail
        if trail < len(tail):
            break
    return (start, end) if start < end else None
