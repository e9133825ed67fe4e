"""``--require-isolation`` on ``ponder ask`` and ``ponder serve``: every sandbox of the process requires
bubblewrap, and the check happens before any run (one clear line, non-zero exit)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ponder.sandbox import SandboxConfig, require_isolation_everywhere

pytestmark = pytest.mark.integration


def _ponder(*args: str, path: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": path, "PYTHONPATH": os.pathsep.join(sys.path), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(
        [sys.executable, "-m", "ponder", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def _no_bwrap_path(tmp_path: Path) -> str:
    """A PATH with the usual tools but no bwrap."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("sh", "env"):
        found = shutil.which(name)
        if found:
            (bin_dir / name).symlink_to(found)
    return str(bin_dir)


@pytest.mark.parametrize("command", [["ask", "--model", "scripted", "hello"], ["serve", "--no-store", "--port", "0"]])
def test_require_isolation_without_bubblewrap_fails_with_one_line(tmp_path: Path, command: list[str]) -> None:
    done = _ponder(*command[:1], "--require-isolation", *command[1:], path=_no_bwrap_path(tmp_path))
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert lines == ["ponder: error: sandbox isolation is required but unavailable: bwrap not found on PATH"], (
        done.stderr
    )


def test_require_isolation_with_bubblewrap_runs(tmp_path: Path) -> None:
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    done = _ponder(
        "ask", "--model", "scripted", "--require-isolation", "--no-store", "--json", "hello", path=os.environ["PATH"]
    )
    if done.returncode != 0 and "isolation is required" in done.stderr:
        pytest.skip(f"bubblewrap cannot run here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    assert '"answer"' in done.stdout


def test_the_requirement_is_the_default_of_every_sandbox_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PONDER_REQUIRE_ISOLATION", "0")  # restored (unset) after the test
    assert SandboxConfig().require_isolation is False
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    require_isolation_everywhere()
    assert os.environ["PONDER_REQUIRE_ISOLATION"] == "1"
    assert SandboxConfig().require_isolation is True
    assert SandboxConfig(require_isolation=False).require_isolation is False  # an explicit choice still wins
