"""Small error paths (issue 12, class 8): each is one clear line, and nothing is created or lost by reading.

These tests start a process, a server or a real model; the others are in tests/unit/test_error_paths.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from error_paths_helpers import FULL, _store_with_runs, needs_dev_full
from layout import SRC as SRC_DIR

SRC = str(SRC_DIR)


def _ponder(*args: str, stdout=subprocess.PIPE, **kwargs) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC, **kwargs.pop("env", {})}
    return subprocess.run(
        [sys.executable, "-m", "ponder", *args], stdout=stdout, stderr=subprocess.PIPE, text=True, env=env,
        timeout=60, **kwargs,
    )  # fmt: skip


@pytest.mark.integration
@needs_dev_full
def test_a_full_disk_behind_stdout_is_one_line(tmp_path, capsys):
    db = tmp_path / "runs.db"
    _store_with_runs(db)
    capsys.readouterr()
    with FULL.open("w") as full:
        for args in (["runs", "list", "--store", str(db)], ["runs", "export", "--store", str(db)],
                     ["ask", "q", "-m", "scripted", "--no-store", "--json"]):  # fmt: skip
            done = _ponder(*args, stdout=full)
            assert done.returncode == 1, done.stderr
            assert done.stderr == "ponder: error: cannot write the output: No space left on device\n"


@pytest.mark.integration
def test_a_store_on_a_read_only_mount_can_be_read(tmp_path):
    bwrap = shutil.which("bwrap")
    if bwrap is None or subprocess.run([bwrap, "--dev-bind", "/", "/", "true"], capture_output=True).returncode:
        pytest.skip("bubblewrap cannot make a read-only mount here")
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "runs.db"
    [*ids] = _store_with_runs(db)
    readonly = [bwrap, "--dev-bind", "/", "/", "--ro-bind", str(folder), str(folder)]
    probe = subprocess.run([*readonly, "touch", str(folder / "x")], capture_output=True)
    assert probe.returncode != 0  # the mount really is read-only
    env = {**os.environ, "PYTHONPATH": SRC}
    for args in (["runs", "list"], ["runs", "show", ids[0]], ["runs", "export"]):
        done = subprocess.run(
            [*readonly, sys.executable, "-m", "ponder", *args, "--store", str(db)], capture_output=True, text=True,
            env=env, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
    assert "first" in done.stdout and "second" in done.stdout


@pytest.mark.integration
def test_an_mcp_server_writing_junk_fails_its_start_in_one_line(tmp_path, capsys):
    junk = tmp_path / "junk.py"
    junk.write_text("import time\nprint('hello, not JSON-RPC', flush=True)\ntime.sleep(60)\n")
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"junk": {"command": sys.executable, "args": [str(junk)]}}}))
    done = _ponder("ask", "q", "-m", "scripted", "-s", "react", "--tools", f"mcp:{config}", "--no-store")
    assert done.returncode == 1
    assert done.stderr == (
        "ponder: error: MCP server 'junk' failed to start: the server wrote a line on stdout that is not JSON-RPC"
        " (servers must log to stderr), and no MCP answer followed\n"
    )
