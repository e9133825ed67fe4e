"""Cut a context into records for aggregation: one per line, or one per sentence.

A document whose lines are short (on average at most ``max_bytes`` in its
first 64 KiB) is a list of records, one per non-blank line; any other text
(paragraphs on one line, one long blob) is cut into sentences. Prose with hard
line wraps therefore counts lines, which is what a log or a table needs.

Records are byte ranges (:class:`~ponder.context.Chunk`) found by scanning the
memory-mapped bytes; nothing is decoded until a record is read, so counting
the records of a large file costs one pass and no memory. A record longer than
``max_bytes`` is cut to its first ``max_bytes`` bytes (it still counts once).
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator
from typing import Literal

from .chunks import Chunk
from .source import Context, Document

Unit = Literal["lines", "sentences"]

_SAMPLE = 64 * 1024
_SENTENCE_END = re.compile(rb"[.!?]+(?=\s)|\n[ \t\r]*\n")
_SPACE = b" \t\r\n\f\v"


def record_unit(document: Document, max_bytes: int = 500) -> Unit:
    """``lines`` when the document's lines are short on average (its first 64 KiB), else ``sentences``."""
    sample = bytes(document.data()[:_SAMPLE])
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
        data = doc.data()
        spans = _lines(data) if record_unit(doc, max_bytes) == "lines" else _sentences(data)
        for start, end in spans:
            span = _trim(data, start, end)
            if span is None:
                continue
            yield Chunk(index, doc, span[0], min(span[1], span[0] + max_bytes))
            index += 1


def count_records(context: Context, max_bytes: int = 500) -> int:
    """How many records :func:`records` yields (one streaming pass)."""
    return sum(1 for _ in records(context, max_bytes))


def _lines(data: bytes | mmap.mmap) -> Iterator[tuple[int, int]]:
    start, size = 0, len(data)
    while start < size:
        end = data.find(b"\n", start)
        if end == -1:
            end = size
        yield start, end
        start = end + 1


def _sentences(data: bytes | mmap.mmap) -> Iterator[tuple[int, int]]:
    start = 0
    for m in _SENTENCE_END.finditer(data):
        yield start, m.end()
        start = m.end()
    if start < len(data):
        yield start, len(data)


def _trim(data: bytes | mmap.mmap, start: int, end: int, step: int = 256) -> tuple[int, int] | None:
    """``start:end`` without surrounding whitespace (``None`` when blank), reading ``step`` bytes at a time."""
    while start < end:
        head = bytes(data[start : min(end, start + step)])
        lead = len(head) - len(head.lstrip(_SPACE))
        start += lead
        if lead < len(head):
            break
    while end > start:
        tail = bytes(data[max(start, end - step) : end])
        trail = len(tail) - len(tail.rstrip(_SPACE))
        end -= trail
        if trail < len(tail):
            break
    return (start, end) if start < end else None
