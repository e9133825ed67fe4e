"""``search`` and ``read_file``: BM25 search over a folder of text files, and reading them.

>>> tools = file_tools("docs/")          # doctest: +SKIP
>>> [t.name for t in tools]              # doctest: +SKIP
['search', 'read_file']

Both tools are confined to the folder (see :mod:`ponder.tools.confine`). The
search index (the ``bm25s`` library) is built once, on the first search: every
regular text file below the folder is read (hidden folders such as ``.git``
and caches such as ``node_modules`` are skipped, as are symlinks leading out of
the folder, files with several hard links and binary files), cut into passages of about 40 lines, and the
passages are indexed. Files changed after that are not seen until
:meth:`FileIndex.refresh`. A result gives the path, the line range and the
passage's lines that share words with the query, so the model can go on with
``read_file(path, start_line)``.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import Tool, ToolError, tool
from .confine import Confined

SKIP_DIRS = frozenset({"node_modules", "__pycache__", "venv", "site-packages", "dist", "build"})
PASSAGE_LINES = 40
PASSAGE_CHARS = 2000
MAX_FILES = 20_000
MAX_TOTAL_BYTES = 200_000_000
MAX_LINE_CHARS = 2000
MAX_READ_LINES = 1000
MAX_K = 20
MAX_QUERY = 1000
_WORD_RE = re.compile(r"(?u)\b\w\w+\b")


@dataclass(frozen=True, slots=True)
class Passage:
    path: str
    start_line: int
    lines: tuple[str, ...]


class FileIndex:
    """The lazily built BM25 index over the text files of one confined folder."""

    def __init__(self, confined: Confined) -> None:
        self.confined = confined
        self._lock = threading.Lock()
        self._passages: list[Passage] | None = None
        self._retriever: Any = None
        self.skipped = 0

    def refresh(self) -> None:
        """Forget the index; the next search rebuilds it."""
        with self._lock:
            self._passages, self._retriever = None, None

    def search(self, query: str, k: int) -> list[tuple[Passage, float]]:
        passages, retriever = self._ensure()
        tokens = _WORD_RE.findall(query.lower())
        if not passages or not tokens:
            return []
        results, scores = retriever.retrieve([tokens], k=min(k, len(passages)), show_progress=False)
        return [(passages[int(i)], float(s)) for i, s in zip(results[0], scores[0], strict=True) if s > 0]

    def _ensure(self) -> tuple[list[Passage], Any]:
        with self._lock:
            if self._passages is None:
                self._passages = list(self._collect())
                self._retriever = _build(self._passages)
            return self._passages, self._retriever

    def _collect(self) -> list[Passage]:
        passages: list[Passage] = []
        files = total = 0
        seen: set[Path] = set()
        root = self.confined.root
        for folder, dirs, names in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS)
            for name in sorted(names):
                if name.startswith("."):
                    continue
                if files >= MAX_FILES or total >= MAX_TOTAL_BYTES:
                    self.skipped += 1
                    continue
                found = self._read(Path(folder) / name)
                if found is None or found[0] in seen:
                    continue
                real, text = found
                seen.add(real)
                files += 1
                total += len(text)
                passages.extend(split_passages(self.confined.relative(real), text))
            # symlinked folders are not walked (os.walk does not follow them): that keeps the walk inside
        return passages

    def _read(self, path: Path) -> tuple[Path, str] | None:
        try:
            return self.confined.read_text(self.confined.relative(path))
        except (ToolError, OSError, ValueError):
            self.skipped += 1
            return None


def split_passages(path: str, text: str) -> list[Passage]:
    """Cut a file into passages of at most PASSAGE_LINES lines / about PASSAGE_CHARS characters."""
    out: list[Passage] = []
    lines = text.splitlines()
    chunk: list[str] = []
    start = size = 0
    for number, line in enumerate(lines):
        line = line[:MAX_LINE_CHARS]
        if chunk and (len(chunk) >= PASSAGE_LINES or size + len(line) > PASSAGE_CHARS):
            out.append(Passage(path, start + 1, tuple(chunk)))
            start, chunk, size = number, [], 0
        chunk.append(line)
        size += len(line) + 1
    if any(line.strip() for line in chunk):
        out.append(Passage(path, start + 1, tuple(chunk)))
    return out


def _build(passages: list[Passage]) -> Any:
    import bm25s

    if not passages:
        return None
    corpus = [_WORD_RE.findall(f"{p.path}\n" + "\n".join(p.lines).lower()) for p in passages]
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    return retriever


def snippet(passage: Passage, query: str, max_lines: int = 6) -> str:
    """The passage's lines that contain query words (or its first lines), with line numbers."""
    words = set(_WORD_RE.findall(query.lower()))
    picked = [
        (passage.start_line + i, line)
        for i, line in enumerate(passage.lines)
        if words & set(_WORD_RE.findall(line.lower()))
    ][:max_lines]
    if not picked:
        picked = [(passage.start_line + i, line) for i, line in enumerate(passage.lines) if line.strip()][:max_lines]
    return "\n".join(f"  {number}: {line[:300]}" for number, line in picked)


def file_tools(
    root: str | os.PathLike[str],
    *,
    max_output: int = 4000,
    max_file_bytes: int = 5_000_000,
    allow_hard_links: bool = False,
) -> list[Tool]:
    """``[search, read_file]`` over the text files below ``root`` (ConfigError if it is not a folder).

    Files with more than one hard link are refused unless ``allow_hard_links`` (see :mod:`ponder.tools.confine`).
    """
    confined = Confined(root, max_file_bytes=max_file_bytes, allow_hard_links=allow_hard_links)
    index = FileIndex(confined)

    def search(query: str, k: int = 5) -> str:
        """Search the files for passages about a query (BM25 keyword search).

        Args:
            query: words to look for
            k: how many passages to return (1-20)
        """
        if not query.strip():
            raise ToolError("empty query")
        if len(query) > MAX_QUERY:
            raise ToolError(f"query too long: {len(query)} characters (limit {MAX_QUERY})")
        if not 1 <= k <= MAX_K:
            raise ToolError(f"k must be between 1 and {MAX_K}, got {k}")
        hits = index.search(query, k)
        if not hits:
            return f"no results for {query!r}"
        blocks = []
        for rank, (passage, score) in enumerate(hits, 1):
            end = passage.start_line + len(passage.lines) - 1
            head = f"{rank}. {passage.path} (lines {passage.start_line}-{end}, score {score:.2f})"
            blocks.append(f"{head}\n{snippet(passage, query)}")
        return "\n".join(blocks)

    def read_file(path: str, start_line: int = 1, max_lines: int = 200) -> str:
        """Read lines of a text file (path relative to the searched folder).

        Args:
            path: the file, as shown by search, e.g. notes/todo.txt
            start_line: the first line to show (1 = start of file)
            max_lines: how many lines to show at most (1-1000)
        """
        if start_line < 1:
            raise ToolError(f"start_line must be >= 1, got {start_line}")
        if not 1 <= max_lines <= MAX_READ_LINES:
            raise ToolError(f"max_lines must be between 1 and {MAX_READ_LINES}, got {max_lines}")
        real, text = confined.read_text(path)
        lines = text.splitlines()
        if not lines:
            return f"[{confined.relative(real)} is empty]"
        if start_line > len(lines):
            raise ToolError(f"start_line {start_line} is past the end ({len(lines)} lines)")
        shown = lines[start_line - 1 : start_line - 1 + max_lines]
        end = start_line + len(shown) - 1
        body = "\n".join(_clip(line) for line in shown)
        header = f"[{confined.relative(real)} lines {start_line}-{end} of {len(lines)}]"
        more = f"\n[more: start_line={end + 1}]" if end < len(lines) else ""
        return f"{header}\n{body}{more}"

    return [tool(search, max_output=max_output), tool(read_file, max_output=max_output)]


def _clip(line: str) -> str:
    extra = len(line) - MAX_LINE_CHARS
    return line if extra <= 0 else f"{line[:MAX_LINE_CHARS]} [... {extra} more characters]"
