"""The store's journal: one write per step, moved into SQLite by batches, and never lost or doubled.

These tests start a process, a server or a real model; the others are in tests/unit/test_store_journal.py."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from layout import SUPPORT
from ponder.store import RunStore
from store_journal_helpers import _in_database

pytestmark = pytest.mark.usefixtures("journal_from_the_first_step")


WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from ponder import Budget, Engine, RunResult, ScriptedModel
    from ponder.store import RunStore, journal
    from calls_strategy import Calls

    journal.BATCH_SECONDS = 3600.0
    journal.DIRECT_WRITES = 0
    store = RunStore(sys.argv[1])
    def reply(messages):
        if len(model.calls) == 7:
            # a write cut short by the crash: half a line at the end of the journal
            os.write(store._writer._journal._fd, b"deadbeef\\t99\\tdead")
            os.kill(os.getpid(), signal.SIGKILL)
        return "ok"
    model = ScriptedModel(reply)
    Engine(model, budget=Budget(max_steps=20), sinks=[store.sink()]).run(Calls(10), "q")
    """
)


@pytest.mark.integration
def test_the_journal_of_a_killed_writer_is_moved_in_by_the_next_reader_and_removed(tmp_path):
    path = tmp_path / "runs.db"
    done = subprocess.run(
        [sys.executable, "-c", WRITER, str(path)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(SUPPORT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == -9, done.stderr
    assert _in_database(path) == 0  # the run had not ended: everything it recorded was in its journal
    with RunStore(path, readonly=True) as reader:  # `ponder runs list`: moves the journal in
        [run] = reader.list_runs()
        assert run["status"] == "unfinished" and run["model_calls"] == 6
    assert _in_database(path) == 13  # the run's start, then six steps of two events; the torn line left out
    assert not list((tmp_path / "runs.db-events").iterdir())
