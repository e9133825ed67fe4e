"""Lazy context sources: a string, one file, or every text file under a folder."""

from __future__ import annotations

import mmap
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError

#: files in a folder that are skipped (binary or bulky formats)
_SKIP_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".pdf", ".zip", ".gz", ".so", ".pyc", ".bin", ".gguf"})


@dataclass(eq=False)
class Document:
    """One document of a context: in-memory text or a memory-mapped file.

    Offsets are byte offsets (UTF-8); :meth:`read` decodes a slice, dropping a
    character cut in half at either edge.
    """

    name: str
    path: Path | None = None
    text: bytes | None = None
    _map: mmap.mmap | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        if self.text is not None:
            return len(self.text)
        assert self.path is not None
        return self.path.stat().st_size

    def data(self) -> bytes | mmap.mmap:
        """The raw bytes, memory-mapped on first use (the OS pages them in lazily)."""
        if self.text is not None:
            return self.text
        if self._map is None:
            assert self.path is not None
            if self.size == 0:
                return b""
            with self.path.open("rb") as f:
                self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        return self._map

    def read(self, start: int, end: int) -> str:
        return bytes(self.data()[start:end]).decode("utf-8", errors="ignore")

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None


class Context:
    """A long input: an ordered list of documents, read lazily."""

    def __init__(self, documents: list[Document], kind: str) -> None:
        self.documents = documents
        #: "string", "file" or "folder"
        self.kind = kind

    @classmethod
    def from_text(cls, text: str, name: str = "context") -> Context:
        return cls([Document(name, text=text.encode("utf-8"))], "string")

    @classmethod
    def from_texts(cls, texts: list[str]) -> Context:
        return cls([Document(f"doc{i}", text=t.encode("utf-8")) for i, t in enumerate(texts)], "list")

    @property
    def size(self) -> int:
        """Total size in bytes."""
        return sum(d.size for d in self.documents)

    def preview(self, chars: int = 200) -> str:
        if not self.documents:
            return ""
        first = self.documents[0]
        return first.read(0, min(first.size, chars * 2))[:chars]

    def describe(self) -> str:
        """A one-line summary (type, size, number of documents) for prompts and traces."""
        return f"{self.kind} of {len(self.documents)} document(s), {self.size:,} bytes"

    def close(self) -> None:
        for d in self.documents:
            d.close()

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_context(path: str | Path) -> Context:
    """Open a file or a folder (its files, recursively, in name order) as a lazy context."""
    p = Path(path)
    if p.is_file():
        return Context([Document(p.name, path=p)], "file")
    if p.is_dir():
        files = sorted(
            f
            for f in p.rglob("*")
            if f.is_file()
            and f.suffix.lower() not in _SKIP_SUFFIXES
            and not any(part.startswith(".") for part in f.relative_to(p).parts)
        )
        if not files:
            raise ConfigError(f"the context folder {p} has no text files")
        return Context([Document(str(f.relative_to(p)), path=f) for f in files], "folder")
    raise ConfigError(f"no such context file or folder: {p}")
