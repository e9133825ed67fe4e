"""Durable batches and isolated failures: each call is recorded as it completes; one failing call is its own result.

These tests start a process, a server or a real model; the others are in tests/unit/test_batch_faults.py."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest

import ponder
from ponder import ScriptedModel, strategies
from ponder.store import RunStore, StoreError

KILLED = textwrap.dedent(
    """
    import sys, time
    from ponder import Budget, Engine, ScriptedModel, strategies
    from ponder.store import RunStore

    class Slow(ScriptedModel):
        def complete(self, messages, options, on_text=None, tools=None):
            time.sleep(0.05 if options.seed % 2 == 0 else 30)   # the odd samples never finish before the kill
            return super().complete(messages, options, on_text, tools)

    store = RunStore(sys.argv[1])
    model = Slow(lambda messages: "The answer is 42.")
    Engine(model, budget=Budget(max_steps=20), sinks=[store.sink()], max_parallel_calls=8).run(
        strategies.Consistency(samples=8, adaptive=False), "What is 6 * 7?"
    )
    """
)


@pytest.mark.integration
def test_a_run_killed_mid_batch_replays_every_call_that_completed(tmp_path):
    db = tmp_path / "runs.db"
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    proc = subprocess.Popen([sys.executable, str(script), str(db)])
    deadline = time.monotonic() + 60
    recorded = 0
    while time.monotonic() < deadline and recorded < 4:
        time.sleep(0.05)
        try:  # what another process sees (the events in the writer's journal included)
            with RunStore(db, readonly=True) as seen:
                recorded = sum(run["model_calls"] for run in seen.list_runs())
        except StoreError:
            pass
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert recorded == 4  # the four fast samples, recorded while the batch was still going
    store = RunStore(db)
    [row] = store.list_runs()
    assert row["status"] == "unfinished" and row["model_calls"] == 4
    live = ScriptedModel(lambda messages: "The answer is 42.")
    result, replayer = ponder.resume(
        store, row["run_id"], model=live, strategy=strategies.Consistency(samples=8, adaptive=False)
    )
    assert replayer.replayed_calls == 4 and len(live.calls) == 4  # only the four missing samples ran live
    assert sorted(c.options.seed for c in live.calls) == [1, 3, 5, 7]
    assert result.answer == "The answer is 42." and "8 of 8 samples agree" in result.detail
