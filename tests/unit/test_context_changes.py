"""Contexts that change under us: files that shrink, vanish or cannot be read, and block-wise scans."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from context_changes_helpers import PROSE, _write
from ponder.context import (
    Context,
    ContextChangedError,
    ContextWarning,
    count_records,
    open_context,
    reader,
    records,
    split,
)
from ponder.context.reader import Blocks, ContextFile
from ponder.context.records import _lines, _sentences
from ponder.errors import ConfigError, PonderError


def test_a_file_truncated_after_opening_is_a_clear_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.txt")
    with open_context(path) as ctx:
        chunks = split(ctx, 2000, 300)
        first = next(chunks)
        assert first.text().startswith("The harbour")
        os.truncate(path, 1000)
        with pytest.raises(ContextChangedError) as caught:
            for chunk in chunks:
                chunk.text()
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    assert "shrank" in message and "1,000 bytes now" in message and f"{len(PROSE):,} then" in message
    assert isinstance(caught.value, PonderError)


def test_a_truncated_file_stops_record_counting_and_the_filter_with_the_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.txt")
    with open_context(path) as ctx:
        os.truncate(path, 0)
        with pytest.raises(ContextChangedError, match="0 bytes now"):
            count_records(ctx)
        with pytest.raises(ContextChangedError, match="shrank"):
            ctx.documents[0].read(100, 200)


def test_a_vanished_or_replaced_file_is_an_error_when_reopened(tmp_path: Path) -> None:
    gone, saved = _write(tmp_path / "gone.txt"), _write(tmp_path / "saved.txt")
    ctx = open_context(tmp_path)
    ctx.close()  # lets go of the descriptors: the next read reopens each file and checks it
    gone.unlink()
    _write(tmp_path / "new.txt").replace(saved)  # how editors save: a new file renamed over the old one
    with pytest.raises(ContextChangedError, match=f"{gone} vanished after the context was opened"):
        ctx.documents[0].read(0, 10)
    with pytest.raises(ContextChangedError, match=f"{saved} was replaced after the context was opened"):
        ctx.documents[1].read(0, 10)


def test_a_file_deleted_or_grown_while_open_reads_as_it_was(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.txt", "alpha beta gamma. " * 10)
    with open_context(path) as ctx:
        doc = ctx.documents[0]
        with path.open("a") as f:
            f.write("delta " * 100)
        assert doc.size == 180 and doc.read(0, 10_000).endswith("gamma. ")  # the size it had when opened
        path.unlink()  # the open descriptor still holds the bytes: nothing lost
        assert next(split(ctx, 100, 20)).text().startswith("alpha")


def test_unreadable_files_in_a_folder_are_skipped_with_a_warning_naming_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path / "a.txt", "alpha " * 100)
    _write(tmp_path / "gone.txt", "soon gone")
    _write(tmp_path / "locked.txt", "no entry")
    (tmp_path / "link.txt").symlink_to(tmp_path / "nowhere.txt")  # dangling
    os.mkfifo(tmp_path / "pipe.txt")  # opening it for reading would block: it must not be opened
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub" / "b.md", "beta " * 100)
    probe = ContextFile.probe

    def flaky(path: Path) -> ContextFile | str:
        if path.name == "gone.txt":
            path.unlink()  # deleted between listing and opening
        return probe(path)

    real_open = os.open

    def locked(path: str | os.PathLike[str], flags: int, *args: int) -> int:
        if Path(path).name == "locked.txt":  # tests run as root: chmod 000 would not stop the read
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(ContextFile, "probe", staticmethod(flaky))
    monkeypatch.setattr(os, "open", locked)
    with pytest.warns(ContextWarning) as caught, open_context(tmp_path) as ctx:
        assert [d.name for d in ctx.documents] == ["a.txt", "sub/b.md"]
        assert dict(ctx.skipped) == {
            "gone.txt": "it vanished before it could be read",
            "link.txt": "a dangling symbolic link",
            "locked.txt": "Permission denied",
            "pipe.txt": "a FIFO",
        }
        assert "4 unreadable file(s) skipped" in ctx.describe()
        assert count_records(ctx) == 2
    (message,) = [str(w.message) for w in caught]
    assert "\n" not in message and str(tmp_path) in message
    for name in ("gone.txt", "link.txt", "locked.txt", "pipe.txt"):
        assert name in message
    assert caught[0].filename == __file__  # points at the caller of open_context


def test_a_folder_with_no_readable_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "link.txt").symlink_to(tmp_path / "nowhere.txt")
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ConfigError, match=r"no readable text files \(link.txt \(a dangling symbolic link\); pipe"):
        open_context(tmp_path)


def test_an_unlistable_subfolder_is_skipped_and_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "a.txt", "alpha")
    (tmp_path / "secret").mkdir()
    _write(tmp_path / "secret" / "b.txt", "beta")
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if Path(path).name == "secret":
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.warns(ContextWarning, match="secret/"), open_context(tmp_path) as ctx:
        assert [d.name for d in ctx.documents] == ["a.txt"]
        assert ctx.skipped == [("secret/", "cannot list it: Permission denied")]


def test_a_fifo_or_missing_path_as_the_context_is_a_config_error(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ConfigError, match=r"cannot read the context file .*pipe: a FIFO"):
        open_context(tmp_path / "pipe")
    with pytest.raises(ConfigError, match="no such context"):
        open_context(tmp_path / "missing")


def test_open_descriptors_are_bounded_and_reopened_when_needed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(10):
        _write(tmp_path / f"f{i}.txt", f"file {i} says hello. " * 50)
    monkeypatch.setattr(reader._POOL, "limit", 3)
    before = len(os.listdir("/proc/self/fd"))
    with open_context(tmp_path) as ctx:
        assert len(os.listdir("/proc/self/fd")) - before <= 3
        texts = [c.text() for c in split(ctx, 400, 50)]
        assert len(os.listdir("/proc/self/fd")) - before <= 3
        assert all(f"file {i} says" in " ".join(texts) for i in range(10))
        assert ctx.documents[0].read(0, 6) == "file 0"  # evicted long ago: reopened, checked again
    assert len(os.listdir("/proc/self/fd")) <= before


_ALPHABET = "ab  .!?\n\n\t\r"


def _reader(data: bytes) -> Callable[[int, int], bytes]:
    return lambda start, end: data[start:end]


@pytest.mark.parametrize("block", [1, 2, 3, 7, 64, 1000])
def test_block_wise_scans_find_the_same_spans_as_one_pass(block: int) -> None:
    rng = random.Random(block)
    for _ in range(40):
        data = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 300))).encode()
        for scan in (_sentences, _lines):
            whole = Blocks(_reader(data), len(data), data)  # one block: a single pass over all the bytes
            blocks = Blocks(_reader(data), len(data), block=block)
            assert [s[:2] for s in scan(blocks)] == [s[:2] for s in scan(whole)], data


@pytest.mark.parametrize("block", [5, 97, 4096])
def test_a_file_is_cut_exactly_like_the_same_text_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    monkeypatch.setattr(reader, "BLOCK", block)
    rng = random.Random(block)
    words = ["harbour", "boat", "gull.", "quiet!", "  ", "\n", "\n\n", "rope?", "\t", "sail..."]
    text = " ".join(rng.choice(words) for _ in range(3000))
    path = _write(tmp_path / "t.txt", text)
    memory = Context.from_text(text)
    with open_context(path) as ctx:
        for chunk_bytes, overlap in ((300, 60), (1000, 0)):
            got = [(c.start, c.end, c.text()) for c in split(ctx, chunk_bytes, overlap)]
            assert got == [(c.start, c.end, c.text()) for c in split(memory, chunk_bytes, overlap)]
        for max_bytes in (5, 500):  # sentences, then lines
            spans = [(c.start, c.end) for c in records(ctx, max_bytes)]
            assert spans == [(c.start, c.end) for c in records(memory, max_bytes)]
