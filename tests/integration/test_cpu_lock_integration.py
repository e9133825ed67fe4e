"""Cross-process sharing of the cores (``ponder.models.cpu_lock``), without a model.

These tests start a process, a server or a real model; the others are in tests/unit/test_cpu_lock.py."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from layout import SRC as SRC_DIR
from ponder.models.cpu_lock import CpuLock, CpuSplit

SRC = str(SRC_DIR)

HOLDER = """
import sys, time
from pathlib import Path
from ponder.models.cpu_lock import CpuLock

lock = CpuLock(Path(sys.argv[1]))
with open(sys.argv[2], "a") as out:
    for _ in range(int(sys.argv[3])):
        with lock:
            out.write(f"start {time.monotonic_ns()}\\n"); out.flush()
            time.sleep(0.02)
            out.write(f"end {time.monotonic_ns()}\\n"); out.flush()
"""


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], env=env, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )


def _intervals(path: Path) -> list[tuple[int, int]]:
    marks = [line.split() for line in path.read_text().splitlines()]
    assert [kind for kind, _ in marks] == ["start", "end"] * (len(marks) // 2), "a start followed by a start: overlap"
    return [(int(a[1]), int(b[1])) for a, b in zip(marks[::2], marks[1::2], strict=True)]


def _free(path: Path) -> bool:
    """Whether another process could take ``path``'s lock now."""
    probe = _python(
        "import fcntl, os, sys\n"
        "fd = os.open(sys.argv[1], os.O_RDWR)\n"
        "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    print('held')\n"
        "else:\n    print('free')\n",
        str(path),
    )
    out, _ = probe.communicate(timeout=30)
    return out.strip() == "free"


@pytest.mark.integration
def test_two_processes_holding_the_lock_never_overlap(tmp_path: Path) -> None:
    lock, log = tmp_path / "llama.lock", tmp_path / "log.txt"
    procs = [_python(HOLDER, str(lock), str(log), "15") for _ in range(2)]
    for proc in procs:
        assert proc.wait(timeout=60) == 0
    spans = sorted(_intervals(log))  # one file, appended by both: a start after a start would be an overlap
    assert len(spans) == 30
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end


@pytest.mark.integration
def test_an_exception_inside_the_lock_releases_it(tmp_path: Path) -> None:
    lock = CpuLock(tmp_path / "llama.lock")
    with pytest.raises(ValueError, match="boom"), lock:
        assert not _free(lock.path)
        raise ValueError("boom")
    assert _free(lock.path)
    done = threading.Event()

    def take() -> None:  # another thread of this process is not locked out either
        with lock:
            done.set()

    thread = threading.Thread(target=take)
    thread.start()
    thread.join(timeout=10)
    assert done.is_set()


@pytest.mark.integration
def test_nested_and_concurrent_use_in_one_process(tmp_path: Path) -> None:
    lock = CpuLock(tmp_path / "llama.lock")
    with lock, lock:  # re-entrant in one thread: no self-deadlock
        assert not _free(lock.path)
    assert _free(lock.path)
    inside = 0
    most = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        for _ in range(20):
            with lock:
                with guard:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.001)
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert most == 1
    assert _free(lock.path)


@pytest.mark.integration
def test_split_counts_the_callers_holding_a_slot(tmp_path: Path) -> None:
    folder = tmp_path / "llama-slots"
    mine = CpuSplit(folder)
    with mine:
        assert mine.threads(2) == 2
    other = _python(
        "import sys\nfrom pathlib import Path\nfrom ponder.models.cpu_lock import CpuSplit\n"
        "s = CpuSplit(Path(sys.argv[1]))\nwith s:\n    print('in', flush=True)\n    sys.stdin.readline()\n",
        str(folder),
    )
    assert other.stdout is not None and other.stdin is not None
    assert other.stdout.readline().strip() == "in"
    with mine:
        assert mine.users() == 2
        assert mine.threads(2) == 1
        assert mine.threads(8) == 4
    other.stdin.write("\n")
    other.stdin.flush()
    assert other.wait(timeout=30) == 0
    with pytest.raises(RuntimeError), mine:  # a new call counts afresh; an exception releases the slot
        assert mine.threads(2) == 2
        raise RuntimeError
    held = [p for p in folder.iterdir() if not _free(p)]
    assert held == []
