"""Resume trusts nothing: a changed context, a run another process is writing, a rerun that ends early.

These tests start a process, a server or a real model; the others are in tests/unit/test_resume_safety.py."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

import ponder
from ponder import Engine, ScriptedModel, strategies
from ponder.errors import ModelCallError
from ponder.store import RunStore, StoreError


@pytest.mark.integration
def test_a_run_another_live_process_writes_is_not_resumed(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    with pytest.raises(ModelCallError):
        Engine(ScriptedModel(["a draft"]), sinks=[store.sink()]).run(strategies.Refine(), "q")
    run_id = store.list_runs()[0]["run_id"]
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with sqlite3.connect(tmp_path / "runs.db") as conn:
            conn.execute("UPDATE leases SET pid = ? WHERE root_id = ?", (holder.pid, run_id))
            if conn.total_changes == 0:
                import socket

                conn.execute(
                    "INSERT INTO leases (root_id, host, pid, time) VALUES (?, ?, ?, 0)",
                    (run_id, socket.gethostname(), holder.pid),
                )
        with pytest.raises(StoreError, match=f"being written by another process \\(process {holder.pid}\\)"):
            ponder.resume(store, run_id, model=ScriptedModel(["NO ISSUES"]), strategy=strategies.Refine())
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone: its lease is taken over
    result, _ = ponder.resume(store, run_id, model=ScriptedModel(["NO ISSUES"]), strategy=strategies.Refine())
    assert result.stop_reason == "converged"
