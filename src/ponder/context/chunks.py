"""Cut a context into overlapping chunks that end at natural boundaries."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .source import Context, Document

# boundaries preferred, best first: paragraph, line, sentence, word
_BOUNDARIES = (b"\n\n", b"\n", b". ", b" ")


@dataclass(frozen=True, slots=True)
class Chunk:
    """A byte range of one document; its text is read only when asked for."""

    index: int
    document: Document
    start: int
    end: int

    def raw(self) -> bytes:
        return self.document.raw(self.start, self.end)

    def text(self) -> str:
        return self.document.read(self.start, self.end)

    @property
    def where(self) -> str:
        return f"{self.document.name}[{self.start}:{self.end}]"


def split(context: Context, chunk_bytes: int = 2000, overlap: int = 300) -> Iterator[Chunk]:
    """Yield chunks of at most ``chunk_bytes`` bytes, consecutive chunks sharing ``overlap`` bytes.

    A chunk ends at the last paragraph, line, sentence or word boundary in its
    final third, so a short fact is cut in half only when it is longer than the
    overlap. Reads each document once, a block at a time, and decodes nothing.
    """
    if chunk_bytes <= 0 or not 0 <= overlap < chunk_bytes // 2:
        raise ValueError("need chunk_bytes > 0 and 0 <= overlap < chunk_bytes / 2")
    index = 0
    for doc in context.documents:
        size = doc.size
        blocks = doc.blocks()
        data, at = blocks.span(0, 0)
        start = 0
        while start < size:
            end = min(start + chunk_bytes, size)
            if end < size:
                low = start + (2 * chunk_bytes) // 3
                if end > at + len(data):  # past the block (chunks only move forward)
                    data, at = blocks.span(start, end)
                for mark in _BOUNDARIES:
                    cut = data.rfind(mark, low - at, end - at)
                    if cut != -1:
                        end = at + cut + len(mark)
                        break
            yield Chunk(index, doc, start, end)
            index += 1
            if end >= size:
                break
            start = max(end - overlap, start + 1)
            # begin the next chunk at a word boundary inside the overlap ([start, end) is in the block)
            space = data.find(b" ", start - at, end - at)
            if space != -1:
                start = at + space + 1
