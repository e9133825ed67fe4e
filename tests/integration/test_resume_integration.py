"""Resume: a killed or failed run goes on from the store, replaying what was recorded, paying for nothing twice.

These tests start a process, a server or a real model; the others are in tests/unit/test_resume.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from ponder import Engine, resume
from ponder.store import RunStore, StoreError

KILLED = textwrap.dedent(
    """
    import sys
    from ponder import Budget, Engine
    from ponder.store import RunStore
    from shared import Fanout, model

    store = RunStore(sys.argv[1])
    engine = Engine(model(delay=0.05, stall_after=4), budget=Budget(max_steps=20), sinks=[store.sink()])
    engine.run(Fanout(), "what next?")
    """
)


def _calls(store: RunStore, run_id: str) -> list[tuple[str, str]]:
    return [(e["kind"], e["text"]) for e in store.events(run_id) if e["type"] == "model_call"]


def _count_model_calls(path: Path) -> int:
    """The calls recorded so far, as another process sees them (what the writer's journal holds included)."""
    try:
        with RunStore(path, readonly=True) as store:
            return sum(run["model_calls"] for run in store.list_runs())
    except StoreError:
        return 0


@pytest.mark.integration
def test_a_run_killed_with_sigkill_resumes_to_the_same_answer_without_repeating_a_call(tmp_path, shared):
    from ponder import Budget

    # the uninterrupted run, for comparison
    reference_store = RunStore(tmp_path / "reference.db")
    reference = Engine(shared.model(), budget=Budget(max_steps=20), sinks=[reference_store.sink()]).run(
        shared.Fanout(), "what next?"
    )
    total = reference.usage.model_calls
    assert total >= 6 and len(reference.events) > 0

    path = tmp_path / "runs.db"
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, str(script), str(path)], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _count_model_calls(path) < 4 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    store = RunStore(path)
    [row] = store.list_runs()
    assert row["status"] == "unfinished"
    recorded = row["model_calls"]
    assert 4 <= recorded < total

    live = shared.model()
    result, replayer = resume(store, row["run_id"], model=live, strategy=shared.Fanout())
    assert result.run_id == row["run_id"]
    assert result.answer == reference.answer
    assert result.stop_reason == reference.stop_reason
    assert result.usage.model_calls == total
    # the recorded calls were replayed, only the missing ones were paid for
    assert replayer.replayed_calls == recorded
    assert len(live.calls) == total - recorded
    # the store shows each call once, the same calls as the uninterrupted run (the two calls of the first
    # batch are recorded in the order they completed, which may differ), and the resume
    assert sorted(_calls(store, row["run_id"])) == sorted(_calls(reference_store, reference.run_id))
    steps = Counter((e["run_id"], e["step"]) for e in store.events(row["run_id"]) if e["type"] == "model_call")
    assert max(steps.values()) == 1
    info = store.run(row["run_id"])
    assert info["status"] == "finished" and info["model_calls"] == total
    assert info["resumes"][0]["replayed_calls"] == recorded
    assert [c["depth"] for c in info["children"]] == [1]
    assert {c["status"] for c in info["children"]} == {"finished"}


@pytest.mark.integration
def test_cli_sigkill_and_resume_on_the_embedded_model(tmp_path):
    db = tmp_path / "real.db"
    question = "Name three uses of copper."
    base = [sys.executable, "-m", "ponder", "ask", question, "-s", "refine", "--max-steps", "5", "--max-tokens", "40"]
    reference = subprocess.run([*base, "--json", "--no-store"], capture_output=True, text=True, timeout=1800)
    assert reference.returncode == 0, reference.stderr
    expected = json.loads(reference.stdout)
    proc = subprocess.Popen([*base, "--json", "--store", str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 1800
    while _count_model_calls(db) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run_id = RunStore(db).list_runs()[0]["run_id"]
    recorded = RunStore(db).run(run_id)["model_calls"]
    assert RunStore(db).run(run_id)["status"] == "unfinished", "the run ended before it could be killed"
    assert recorded >= 2
    resumed = subprocess.run(
        [sys.executable, "-m", "ponder", "resume", run_id, "--store", str(db), "--json"],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert resumed.returncode == 0, resumed.stderr
    data = json.loads(resumed.stdout)
    assert data["resumed"]["replayed_calls"] == recorded
    assert data["answer"] == expected["answer"]
    assert data["usage"]["model_calls"] == expected["usage"]["model_calls"]
    assert RunStore(db).run(run_id)["model_calls"] == expected["usage"]["model_calls"]


@pytest.mark.integration
def test_a_consistency_wave_killed_on_the_embedded_model_replays_every_completed_sample(tmp_path):
    db = tmp_path / "real.db"
    question = "What is 17 * 23? Answer with the number."
    base = [sys.executable, "-m", "ponder", "ask", question, "-s", "consistency", "--samples", "12", "--no-adaptive"]
    base += ["--max-tokens", "24", "--json"]
    proc = subprocess.Popen([*base, "--store", str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 1800
    while _count_model_calls(db) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # in the middle of the one wave of 12 samples
    proc.wait()
    run_id = RunStore(db).list_runs()[0]["run_id"]
    recorded = RunStore(db).run(run_id)["model_calls"]
    assert RunStore(db).run(run_id)["status"] == "unfinished", "the run ended before it could be killed"
    assert 3 <= recorded < 12
    resume = [sys.executable, "-m", "ponder", "resume", run_id, "--store", str(db), "--json"]
    resumed = subprocess.run(resume, capture_output=True, text=True, timeout=1800)
    assert resumed.returncode == 0, resumed.stderr
    data = json.loads(resumed.stdout)
    assert data["resumed"]["replayed_calls"] == recorded  # every sample that had completed, none paid twice
    assert data["usage"]["model_calls"] == 12 and RunStore(db).run(run_id)["model_calls"] == 12
