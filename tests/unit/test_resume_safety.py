"""Resume trusts nothing: a changed context, a run another process is writing, a rerun that ends early."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

import ponder
from faults import fail_from
from ponder import Engine, ScriptedModel, strategies
from ponder.cli import main
from ponder.errors import ModelCallError
from ponder.store import ReplayDivergedError, RunStore


def _failed_context_run(tmp_path) -> tuple[str, str]:
    """A recursive count over a file that failed after its first batch of calls: (store path, run id)."""
    document = tmp_path / "notes.txt"
    document.write_text(" ".join(f"Day {i}: the caravan rested." for i in range(300)) + " The code is 7312.")
    db = str(tmp_path / "runs.db")
    spec = ponder.RunSpec.from_dict({"context": str(document), "models": {"root": "scripted"}, "store": db})
    with ponder.open_run(spec) as opened:
        fail_from(opened.models["root"], 33)  # the count plan's second batch of 32 records fails as a whole
        with pytest.raises(ModelCallError):
            opened.run("How many days did the caravan rest?")
    [row] = RunStore(db).list_runs()
    return db, row["run_id"]


def test_a_changed_context_is_refused_and_force_is_recorded(tmp_path, capsys):
    db, run_id = _failed_context_run(tmp_path)
    stored = RunStore(db).spec_data(run_id)
    assert stored is not None and stored["context_fingerprint"]["files"] == 1
    notes = tmp_path / "notes.txt"
    os.utime(notes, ns=(notes.stat().st_atime_ns, notes.stat().st_mtime_ns + 10**9))  # touched: same text, new time
    assert main(["resume", run_id, "--store", db]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "changed since run" in err[0] and "--force" in err[0]
    assert RunStore(db).run(run_id)["status"] == "error"  # nothing changed in the store
    assert main(["resume", run_id, "--store", db, "--force", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["resumed"]["replayed_calls"] == 32
    with sqlite3.connect(db) as conn:
        forced = [row[0] for row in conn.execute("SELECT forced FROM resumes WHERE root_id = ?", (run_id,))]
    assert forced == [1]


def test_an_unchanged_context_resumes(tmp_path, capsys):
    db, run_id = _failed_context_run(tmp_path)
    assert main(["resume", run_id, "--store", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["resumed"]["replayed_calls"] == 32


def test_a_rerun_that_ends_before_the_record_is_a_divergence(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    replies = iter(["draft one", "- fix it", "draft two", "- more"])

    def model(messages):
        try:
            return next(replies)
        except StopIteration:
            raise ModelCallError("gone") from None

    with pytest.raises(ModelCallError):
        Engine(ScriptedModel(model, supports_concurrency=False), sinks=[store.sink()]).run(
            strategies.Refine(max_rounds=3), "q"
        )
    run_id = store.list_runs()[0]["run_id"]
    shorter = strategies.Refine(max_rounds=1)  # its round limit ends the rerun inside the recorded part
    with pytest.raises(ReplayDivergedError, match="ended before the recorded run did"):
        ponder.resume(store, run_id, model=ScriptedModel([]), strategy=shorter)
    assert store.run(run_id)["status"] != "finished"  # never a silent "converged"
