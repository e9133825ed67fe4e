"""The run store: events committed as they happen, listing/showing runs, migrations, bad files, two writers.

These tests start a process, a server or a real model; the others are in tests/unit/test_store.py."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from ponder.store import RunStore

WRITER = textwrap.dedent(
    """
    import sys
    from ponder import Budget, Engine, Generate, Outcome, ScriptedModel, strategies
    from ponder.store import RunStore

    store = RunStore(sys.argv[1])
    tag, runs = sys.argv[2], int(sys.argv[3])
    engine = Engine(ScriptedModel(lambda m: tag + " " + str(len(m))), sinks=[store.sink()])
    for i in range(runs):
        engine.run(strategies.Refine(max_rounds=3), f"{tag} question {i}")
    """
)


@pytest.mark.integration
def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / "shared.db"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    runs = 12
    procs = [
        subprocess.Popen([sys.executable, str(script), str(path), tag, str(runs)], stderr=subprocess.PIPE, text=True)
        for tag in ("alpha", "beta")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    store = RunStore(path)
    listed = store.list_runs()
    assert len(listed) == 2 * runs
    assert {r["status"] for r in listed} == {"finished"}
    for tag in ("alpha", "beta"):
        assert sum(r["question"].startswith(tag) for r in listed) == runs
    for row in listed:
        events = store.events(row["run_id"])
        # every event of every run is there, numbered without gaps, ending with run_finished
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert events[-1]["type"] == "run_finished"
        assert sum(e["type"] == "model_call" for e in events) == row["model_calls"] == 7


OPENER = textwrap.dedent(
    """
    import sys
    from ponder.store import RunStore

    RunStore(sys.argv[1]).close()
    """
)


@pytest.mark.integration
def test_processes_creating_one_new_store_at_once_all_succeed(tmp_path):
    script = tmp_path / "open.py"
    script.write_text(OPENER)
    for attempt in range(5):
        path = tmp_path / f"new{attempt}.db"
        procs = [
            subprocess.Popen([sys.executable, str(script), str(path)], stderr=subprocess.PIPE, text=True)
            for _ in range(4)
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
