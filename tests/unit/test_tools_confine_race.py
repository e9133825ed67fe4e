"""Confinement under attack: a folder swapped for a symlink while reads run, hard links, odd paths.

The race test runs a real thread that keeps replacing ``root/d`` (a folder holding ``note.txt``)
by a symlink to a folder outside holding a ``note.txt`` of its own, while reads and searches run.
Any read that ever returns the outside text is an escape; the count of escapes must be zero.
"""

from __future__ import annotations

import os
import random
import threading
from pathlib import Path

import pytest

from ponder.tools import file_tools
from ponder.tools.base import ToolError
from ponder.tools.confine import Confined

SECRET = "OUTSIDE-SECRET"


def _swapper(root: Path, outside: Path, stop: threading.Event, swaps: list[int]) -> None:
    inside, link, spare = root / "d", root / "d.link", root / "d.dir"
    while not stop.is_set():
        # d is a real folder -> becomes a symlink to the outside folder -> becomes a folder again
        os.symlink(outside, link)
        os.rename(inside, spare)
        os.rename(link, inside)
        os.rename(inside, link)
        os.rename(spare, inside)
        os.unlink(link)
        swaps[0] += 1


@pytest.fixture
def racy(tmp_path: Path) -> tuple[Path, Path]:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "d").mkdir(parents=True)
    outside.mkdir()
    (root / "d" / "note.txt").write_text("inside text\n")
    (outside / "note.txt").write_text(f"{SECRET}\n")
    return root, outside


def test_swapping_a_folder_for_a_symlink_never_reads_outside(racy: tuple[Path, Path]) -> None:
    root, outside = racy
    tools = {t.name: t for t in file_tools(root)}
    stop, swaps = threading.Event(), [0]
    thread = threading.Thread(target=_swapper, args=(root, outside, stop, swaps), daemon=True)
    thread.start()
    escapes = inside = refused = 0
    try:
        for i in range(6000):
            path = ("d/note.txt", "./d/../d/note.txt", "d/./note.txt")[i % 3]
            result = tools["read_file"].invoke({"path": path})
            if SECRET in result.observation:
                escapes += 1
            elif result.ok:
                inside += 1
            else:
                refused += 1
    finally:
        stop.set()
        thread.join()
    assert escapes == 0
    assert swaps[0] > 0 and inside > 0  # the race really ran, and reads still worked in between
    assert refused > 0  # and some reads met the symlink (refused, never followed)


def test_search_index_built_during_swaps_holds_nothing_from_outside(racy: tuple[Path, Path]) -> None:
    root, outside = racy
    for n in range(30):
        (root / "d" / f"more{n}.txt").write_text(f"inside passage {n}\n")
        (outside / f"more{n}.txt").write_text(f"{SECRET} passage {n}\n")
    stop, swaps = threading.Event(), [0]
    thread = threading.Thread(target=_swapper, args=(root, outside, stop, swaps), daemon=True)
    thread.start()
    try:
        for _ in range(40):
            tools = {t.name: t for t in file_tools(root)}
            found = tools["search"].invoke({"query": "passage outside secret", "k": 20}).observation
            assert SECRET not in found
    finally:
        stop.set()
        thread.join()
    assert swaps[0] > 0


def test_hard_links_are_refused_unless_allowed(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside.txt"
    root.mkdir()
    outside.write_text(f"{SECRET}\n")
    os.link(outside, root / "linked.txt")
    (root / "plain.txt").write_text("plain\n")
    tools = {t.name: t for t in file_tools(root)}
    result = tools["read_file"].invoke({"path": "linked.txt"})
    assert not result.ok
    assert result.error == (
        "'linked.txt' has 2 hard links; such files are not read (another name of the same file may lie outside the folder)"
    )
    everything = tools["search"].invoke({"query": "plain outside secret", "k": 20}).observation
    assert SECRET not in everything and "plain.txt" in everything
    trusting = Confined(root, allow_hard_links=True)
    assert trusting.read_text("linked.txt")[1] == f"{SECRET}\n"


def test_symlinks_inside_are_walked_by_hand(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "f.txt").write_text("deep\n")
    (root / "up").symlink_to("a/b/../b")  # relative, stays inside
    (root / "a" / "b" / "back").symlink_to("../../a")  # climbs to the root, then down again
    (root / "abs").symlink_to(root / "a")  # absolute, below the root
    (root / "loop1").symlink_to("loop2")
    (root / "loop2").symlink_to("loop1")
    (root / "a" / "b" / "out").symlink_to("../../..")  # climbs above the root
    confined = Confined(root)
    for path in ("up/f.txt", "a/b/back/b/f.txt", "abs/b/f.txt", "a/b/back/b/back/b/f.txt"):
        real, text = confined.read_text(path)
        assert (real, text) == (root / "a" / "b" / "f.txt", "deep\n"), path
    for path, message in (
        ("loop1", "too many symlinks in 'loop1'"),
        ("a/b/out/outside.txt", "path leaves the folder: 'a/b/out/outside.txt'"),
        ("a/b/f.txt/x", "no such file: 'a/b/f.txt/x'"),
        ("a/missing/f.txt", "no such file: 'a/missing/f.txt'"),
    ):
        with pytest.raises(ToolError) as caught:
            confined.read_text(path)
        assert str(caught.value) == message


def test_random_paths_never_leave_the_folder(tmp_path: Path) -> None:
    """Random mixtures of names, dots, slashes and links: every success is a file below the root."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "x" / "y").mkdir(parents=True)
    outside.mkdir()
    (outside / "s.txt").write_text(SECRET)
    (root / "x" / "y" / "s.txt").write_text("ok")
    (root / "s.txt").write_text("ok")
    (root / "x" / "o").symlink_to(outside)
    (root / "x" / "i").symlink_to("y")
    confined = Confined(root)
    rng = random.Random(12)
    pieces = ["x", "y", "o", "i", "..", ".", "", "s.txt", "x/o", "nope"]
    for _ in range(3000):
        path = "/".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
        try:
            real, text = confined.read_text(path)
        except ToolError:
            continue
        assert text == "ok" and confined.contains(real), path
