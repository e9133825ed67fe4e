"""The one plugin registry: every kind (strategy, model, tool, verifier) finds plugins and reports broken ones alike.

These tests start a process, a server or a real model; the others are in tests/unit/test_plugin_registry.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from plugin_registry_helpers import write_plugin


@pytest.mark.integration
def test_ponder_models_and_ask_report_a_broken_plugin_without_a_traceback(tmp_path: Path) -> None:
    site = write_plugin(tmp_path / "site")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    env["PONDER_STORE"] = str(tmp_path / "runs.db")

    def ponder(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ponder", *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )

    listed = ponder("models", "--json")
    assert listed.returncode == 0, listed.stderr
    gone = next(b for b in json.loads(listed.stdout) if b["spec"] == "gone:...")
    assert not gone["available"] and "ponder_fake_missing" in gone["detail"]
    failed = ponder("ask", "hi", "-m", "gone:x")
    assert failed.returncode != 0 and "Traceback" not in failed.stderr
    assert "the model plugin 'gone' (entry point ponder_fake_missing:parrot in group ponder.models)" in failed.stderr
    failed = ponder("ask", "hi", "-s", "wrong", "-m", "scripted")
    assert failed.returncode != 0 and "Traceback" not in failed.stderr
    assert "the strategy plugin 'wrong'" in failed.stderr and "TypeError" in failed.stderr
