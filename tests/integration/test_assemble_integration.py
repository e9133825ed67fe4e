"""Assembling a model from parts (ponder.models.assemble, ponder.models.parted) on small synthetic parts.

These tests start a process, a server or a real model; the others are in tests/unit/test_assemble.py."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from assemble_helpers import expected_of, make_parts
from ponder.models.assemble import assemble

CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from ponder.models.assemble import Expected, assemble

    folder, dest, size, digest, log, go, mode = sys.argv[1:]
    parts = sorted(Path(folder).glob("part*.bin"))
    def note(what):
        with open(log, "a") as f:
            f.write(f"{os.getpid()} {what}\\n")
    def progress(done, total):
        if mode == "die":
            os.kill(os.getpid(), 9)  # killed in the middle of a copy
        time.sleep(0.25)
    Path(log + f".ready{os.getpid()}").touch()
    while not Path(go).exists():
        time.sleep(0.01)
    assemble(parts, Path(dest), Expected(int(size), digest), progress=progress,
             on_wait=lambda: note("waited"), on_start=lambda: note("copied"))
    note("done")
    """
)


def run_children(tmp_path: Path, count: int, mode: str, data: bytes, dest: Path) -> list[subprocess.Popen[bytes]]:
    log, go = tmp_path / "log", tmp_path / "go"
    go.unlink(missing_ok=True)
    args = [str(tmp_path / "parts"), str(dest), str(len(data)), hashlib.sha256(data).hexdigest(), str(log), str(go)]
    children = [subprocess.Popen([sys.executable, "-c", CHILD, *args, mode]) for _ in range(count)]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("log.ready*"))) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    go.touch()
    for child in children:
        child.wait(timeout=120)
    for ready in tmp_path.glob("log.ready*"):
        ready.unlink()
    return children


@pytest.mark.integration
def test_concurrent_first_uses_make_one_copy(tmp_path):
    _, data = make_parts(tmp_path / "parts", [50_000] * 12)
    dest = tmp_path / "cache" / "model.gguf"
    children = run_children(tmp_path, 3, "ok", data, dest)
    assert [c.returncode for c in children] == [0, 0, 0]
    lines = (tmp_path / "log").read_text().split()[1::2]
    assert lines.count("copied") == 1  # one process copied (≈3 s), the others waited and found it done
    assert lines.count("waited") == 2 and lines.count("done") == 3
    assert dest.read_bytes() == data


@pytest.mark.integration
def test_a_copy_killed_midway_leaves_no_model_and_the_next_use_cleans_up(tmp_path):
    parts, data = make_parts(tmp_path / "parts", [50_000] * 3)
    dest = tmp_path / "cache" / "model.gguf"
    (killed,) = run_children(tmp_path, 1, "die", data, dest)
    assert killed.returncode == -9
    assert not dest.exists()
    assert len(list(dest.parent.glob(".model.gguf.*.tmp"))) == 1
    assemble(parts, dest, expected_of(data))
    assert dest.read_bytes() == data and not list(dest.parent.glob(".model.gguf.*.tmp"))
