"""Lazy context sources: a string, one file, or every text file under a folder."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..guards.text import decode_slice
from .reader import Blocks, ContextFile, ContextWarning

#: files in a folder that are skipped (binary or bulky formats)
_SKIP_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".pdf", ".zip", ".gz", ".so", ".pyc", ".bin", ".gguf"})
#: skipped files named in the warning (all of them are in ``Context.skipped``)
_NAMED = 5


@dataclass(eq=False)
class Document:
    """One document of a context: in-memory text or a file read by byte ranges.

    Offsets are byte offsets (UTF-8); :meth:`read` decodes a slice, dropping a
    character cut in half at either edge (other bytes that are not UTF-8 become
    visible ``\\xNN`` escapes: :func:`ponder.guards.text.decode_slice`). A file's size is fixed when it is
    opened; reading a file that has since shrunk or vanished raises
    :class:`~ponder.context.ContextChangedError`.
    """

    name: str
    path: Path | None = None
    text: bytes | None = None
    file: ContextFile | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.text is None and self.file is None:
            if self.path is None:
                raise ValueError("a Document needs text, a path or a file")
            self.file = _open_file(self.path)

    @property
    def size(self) -> int:
        if self.text is not None:
            return len(self.text)
        assert self.file is not None
        return self.file.size

    def raw(self, start: int, end: int) -> bytes:
        """The bytes ``[start, end)`` (clipped to the document)."""
        if self.text is not None:
            return self.text[max(start, 0) : end]
        assert self.file is not None
        return self.file.read(start, end)

    def read(self, start: int, end: int) -> str:
        if self.text is not None:
            return decode_slice(self.text[max(start, 0) : end])
        assert self.file is not None
        return decode_slice(self.file.read(start, end))

    def blocks(self) -> Blocks:
        """A sequential reader of this document (see :class:`~ponder.context.reader.Blocks`)."""
        return Blocks(self.raw, self.size, self.text or b"")

    def data(self) -> bytes | _Slices:
        """The bytes, sliceable (``doc.data()[a:b]``); prefer :meth:`raw`."""
        return self.text if self.text is not None else _Slices(self)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


class _Slices:
    """``document.data()`` of a file: slices read on demand."""

    def __init__(self, document: Document) -> None:
        self._document = document

    def __len__(self) -> int:
        return self._document.size

    def __getitem__(self, item: slice) -> bytes:
        start, stop, step = item.indices(self._document.size)
        data = self._document.raw(start, stop)
        return data if step == 1 else data[::step]


class Context:
    """A long input: an ordered list of documents, read lazily."""

    def __init__(self, documents: list[Document], kind: str, skipped: list[tuple[str, str]] | None = None) -> None:
        self.documents = documents
        #: "string", "list", "file" or "folder"
        self.kind = kind
        #: files of a folder left out because they cannot be read: (name, reason)
        self.skipped = skipped or []

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
        skipped = f", {len(self.skipped)} unreadable file(s) skipped" if self.skipped else ""
        return f"{self.kind} of {len(self.documents)} document(s), {self.size:,} bytes{skipped}"

    def close(self) -> None:
        for d in self.documents:
            d.close()

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_context(path: str | Path) -> Context:
    """Open a file or a folder (its files, recursively, in name order) as a lazy context.

    Files of a folder that cannot be read (permission denied, a dangling link,
    a FIFO, gone before they were opened) are skipped with a
    :class:`~ponder.context.ContextWarning` naming them, and listed in
    ``Context.skipped``; a folder with no readable file is a ``ConfigError``.
    """
    p = Path(path)
    if p.is_dir():
        return _open_folder(p)
    if p.exists():
        return Context([Document(p.name, path=p, file=_open_file(p))], "file")
    raise ConfigError(f"no such context file or folder: {p}")


def _open_file(path: Path) -> ContextFile:
    file = ContextFile.probe(path)
    if isinstance(file, str):
        raise ConfigError(f"cannot read the context file {path}: {file}")
    return file


def _open_folder(root: Path) -> Context:
    skipped: list[tuple[str, str]] = []
    documents = []
    for rel in _listing(root, skipped):
        file = ContextFile.probe(root.joinpath(*rel))
        if isinstance(file, str):
            skipped.append(("/".join(rel), file))
        else:
            documents.append(Document("/".join(rel), path=file.path, file=file))
    if skipped:
        named = "; ".join(f"{name} ({why})" for name, why in skipped[:_NAMED])
        more = f"; and {len(skipped) - _NAMED} more" if len(skipped) > _NAMED else ""
        if not documents:
            raise ConfigError(f"the context folder {root} has no readable text files ({named}{more})")
        message = f"skipped {len(skipped)} unreadable file(s) in the context folder {root}: {named}{more}"
        warnings.warn(ContextWarning(message), stacklevel=3)
    if not documents:
        raise ConfigError(f"the context folder {root} has no text files")
    return Context(documents, "folder", skipped)


def _listing(root: Path, skipped: list[tuple[str, str]]) -> list[tuple[str, ...]]:
    """The relative paths (as parts) of the candidate files under ``root``, in name order.

    Hidden files and folders and binary suffixes are left out silently; links
    to folders are not followed; a subfolder that cannot be listed is skipped.
    """

    def unlisted(exc: OSError) -> None:
        where = Path(exc.filename or root)
        name = "/".join(where.relative_to(root).parts) or "."
        skipped.append((name + "/", f"cannot list it: {exc.strerror or exc}"))

    found: list[tuple[str, ...]] = []
    for folder, dirs, files in os.walk(root, onerror=unlisted):
        base = Path(folder).relative_to(root).parts
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # links to folders are listed, never walked
        found.extend(
            (*base, f) for f in files if not f.startswith(".") and Path(f).suffix.lower() not in _SKIP_SUFFIXES
        )
    return sorted(found)
