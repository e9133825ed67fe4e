"""Cross-process sharing of the cores (``ponder.models.cpu_lock``), without a model.

Processes here are tiny Python scripts that use the helpers directly; overlap is checked from
the timestamps they write, never from how long anything took."""

from __future__ import annotations

import fcntl
import os
import warnings
from pathlib import Path

import pytest

from ponder.errors import ConfigError
from ponder.models import cpu_lock
from ponder.models.cpu_lock import CpuLock, CpuSharingWarning, CpuSplit, NoSharing, resolve_sharing, sharer


def test_an_unusable_folder_falls_back_with_one_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpu_lock, "_warned", set())
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for made in (CpuLock(blocker / "llama.lock"), CpuSplit(blocker / "llama-slots")):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):
                with made:
                    assert made.threads(2) == 2
        assert [w.category for w in caught] == [CpuSharingWarning]
        assert "running without it" in str(caught[0].message)


def test_split_probes_do_not_count_each_other(tmp_path: Path) -> None:
    folder = tmp_path / "llama-slots"
    a, b = CpuSplit(folder), CpuSplit(folder)
    with a, b:  # two callers (two descriptors) in one process still count as two
        assert a.users() == 2
        assert b.users() == 2
    probe = os.open(folder / "slot-0", os.O_RDONLY)
    fcntl.flock(probe, fcntl.LOCK_SH)  # someone else counting right now
    try:
        with a:
            assert a.users() == 1
    finally:
        os.close(probe)


def test_sharing_is_chosen_by_argument_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cpu_lock.ENV, raising=False)
    assert resolve_sharing(None, "split") == "split"
    monkeypatch.setenv(cpu_lock.ENV, " Lock ")
    assert resolve_sharing(None, "split") == "lock"
    assert resolve_sharing("off", "split") == "off"
    monkeypatch.setenv(cpu_lock.ENV, "both")
    with pytest.raises(ConfigError, match="PONDER_LLAMA_SHARING must be one of lock, split, off, not 'both'"):
        resolve_sharing(None, "split")
    with pytest.raises(ConfigError, match="sharing must be one of"):
        resolve_sharing("turns", "split")


def test_cache_dir_and_one_sharer_per_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cpu_lock.cache_dir() == tmp_path / "ponder"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert cpu_lock.cache_dir() == Path.home() / ".cache" / "ponder"
    assert sharer("lock", tmp_path) is sharer("lock", tmp_path)
    assert isinstance(sharer("lock", tmp_path), CpuLock)
    assert isinstance(sharer("split", tmp_path), CpuSplit)
    assert isinstance(sharer("off", tmp_path), NoSharing)
