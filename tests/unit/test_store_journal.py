"""The store's journal: one write per step, moved into SQLite by batches, and never lost or doubled."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from calls_strategy import Calls
from ponder import Budget, Engine, RunResult, ScriptedModel
from ponder.store import RunStore, StoreError, journal
from ponder.store.rows import StoreWarning
from store_journal_helpers import _in_database

pytestmark = pytest.mark.usefixtures("journal_from_the_first_step")


def _counting(store: RunStore, calls: int) -> tuple[list[int], RunResult]:
    """Run ``calls`` calls into ``store``, noting before each one how many events the database holds."""
    counts: list[int] = []

    def reply(messages):
        counts.append(_in_database(store.path))
        return "ok"

    engine = Engine(ScriptedModel(reply), budget=Budget(max_steps=calls + 1), sinks=[store.sink()])
    return counts, engine.run(Calls(calls), "q")


def test_events_wait_in_the_journal_until_a_batch_is_full_then_go_in_together(tmp_path, monkeypatch):
    monkeypatch.setattr(journal, "BATCH_ROWS", 10)
    monkeypatch.setattr(journal, "BATCH_SECONDS", 3600.0)
    path = tmp_path / "runs.db"
    store = RunStore(path)
    counts, result = _counting(store, 12)
    # every 10 events in one transaction: the run's start and 4 calls (9), then a fifth call's two events
    assert counts == [0] * 5 + [11] * 5 + [21, 21]
    assert _in_database(path) == len(result.events)  # the end of the run moved the rest in
    store.close()
    assert not list((tmp_path / "runs.db-events").iterdir())


def test_a_short_run_makes_no_journal_its_steps_are_committed_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(journal, "DIRECT_WRITES", 8)
    path = tmp_path / "runs.db"
    store = RunStore(path)
    counts, result = _counting(store, 5)
    assert counts == [0, 3, 5, 7, 9]  # each step in the database before the next call
    assert not (tmp_path / "runs.db-events").exists()
    counts, _ = _counting(store, 5)  # the store's writes 7 to 12: from the ninth on, into a journal
    assert counts[:3] == [len(result.events), len(result.events) + 3, len(result.events) + 5]
    assert len(list((tmp_path / "runs.db-events").iterdir())) == 1


def test_a_journal_older_than_the_batch_time_goes_in_at_the_next_step(tmp_path, monkeypatch):
    monkeypatch.setattr(journal, "BATCH_SECONDS", 0.0)
    counts, _ = _counting(RunStore(tmp_path / "runs.db"), 4)
    assert counts == [0, 3, 5, 7]


def test_a_live_writers_journal_is_read_not_removed_and_nothing_goes_in_twice(tmp_path, monkeypatch):
    monkeypatch.setattr(journal, "BATCH_SECONDS", 3600.0)
    path = tmp_path / "runs.db"
    store = RunStore(path)
    seen: list[int] = []

    def reply(messages):
        with RunStore(path) as reader:
            runs = reader.list_runs()
            seen.append(runs[0]["model_calls"] if runs else 0)
        if runs:  # the writer's journal, still there (the reader made none: it wrote no event)
            assert len(list((tmp_path / "runs.db-events").iterdir())) == 1
        return "ok"

    result = Engine(ScriptedModel(reply), budget=Budget(max_steps=9), sinks=[store.sink()]).run(Calls(8), "q")
    assert seen == list(range(8))
    events = store.events(result.run_id)
    assert [e["seq"] for e in events] == [e.seq for e in result.events]


def test_a_long_journal_is_replaced_by_a_fresh_one(tmp_path, monkeypatch):
    monkeypatch.setattr(journal, "BATCH_ROWS", 4)
    monkeypatch.setattr(journal, "ROTATE_BYTES", 2000)
    path = tmp_path / "runs.db"
    store = RunStore(path)
    names: set[str] = set()

    def reply(messages):
        if (tmp_path / "runs.db-events").exists():
            names.update(p.name for p in (tmp_path / "runs.db-events").iterdir())
        return "ok " * 50

    result = Engine(ScriptedModel(reply), budget=Budget(max_steps=31), sinks=[store.sink()]).run(Calls(30), "q")
    assert len(names) >= 3
    assert store.run(result.run_id)["model_calls"] == 30
    assert len(list((tmp_path / "runs.db-events").iterdir())) <= 1


def test_a_damaged_journal_line_is_skipped_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(journal, "BATCH_SECONDS", 3600.0)
    path = tmp_path / "runs.db"
    store = RunStore(path)
    Engine(ScriptedModel(lambda m: "ok"), budget=Budget(max_steps=4), sinks=[store.sink()]).run(Calls(3), "q")
    # a dead process's journal, edited by hand: one readable line among four that are not (two of them a
    # run's start and end whose text cannot make its row in the runs table)
    orphan = tmp_path / "runs.db-events" / "elsewhere-1-00000000.rows"
    orphan.write_text(
        "garbage\nroot\t1\trun\tstep\t1.5\t{}\nroot\tx\trun\tstep\t1.5\t{}\n"
        "root\t2\troot\trun_started\t1.5\t[]\nroot\t3\troot\trun_finished\t1.5\tnot json\n"
    )
    with pytest.warns(StoreWarning, match="4 unreadable line"):
        assert len(store.list_runs()) == 1
    assert _in_database(path) == 9 and not orphan.exists()
    assert len(store.list_runs()) == 1  # and the next read is fine


def test_a_journal_is_locked_before_readers_can_see_it(tmp_path, monkeypatch):
    """A reader listing the folder while a writer makes its journal must not take it for a dead writer's."""
    path = tmp_path / "runs.db"
    store = RunStore(path)
    seen: list[tuple[list[str], int | None]] = []
    rename = os.rename

    def watched(source, target):  # the moment before the file gets the name readers look for
        seen.append((journal.journals(tmp_path / "runs.db-events"), journal.lock_orphan(Path(source))))
        rename(source, target)

    monkeypatch.setattr(journal.os, "rename", watched)
    Engine(ScriptedModel(lambda m: "ok"), budget=Budget(max_steps=3), sinks=[store.sink()]).run(Calls(2), "q")
    assert seen == [([], None)]  # not listed yet, and already locked by its writer
    assert store.run(store.list_runs()[0]["run_id"])["model_calls"] == 2


def test_a_write_cut_short_is_taken_back_and_nothing_after_it_is_lost(tmp_path, monkeypatch):
    monkeypatch.setattr(journal, "BATCH_SECONDS", 3600.0)
    path = tmp_path / "runs.db"
    store = RunStore(path)
    sink = store.sink()
    result = Engine(ScriptedModel(lambda m: "ok"), budget=Budget(max_steps=3), sinks=[sink]).run(Calls(2), "q")
    events = result.events
    write = os.write
    calls = {"n": 0}

    def full_disk(fd, data):  # half of the first write goes out, then the disk is full
        calls["n"] += 1
        if calls["n"] == 1:
            write(fd, bytes(data[: len(data) // 2]))
            raise OSError(28, "No space left on device")
        return write(fd, data)

    other = RunStore(tmp_path / "other.db")
    root = events[0].run_id
    other.write_events([(root, events[0])])  # the journal exists, the run has started
    monkeypatch.setattr(journal.os, "write", full_disk)
    with pytest.raises(StoreError, match="No space left on device"):
        other.write_events([(root, events[1]), (root, events[2])])
    other.write_events([(root, events[3]), (root, events[4])])
    journal_file = next((tmp_path / "other.db-events").iterdir())
    assert journal_file.stat().st_size == other._writer._journal.size  # the torn half line is gone
    with RunStore(tmp_path / "other.db") as reader:
        assert [e["seq"] for e in reader.events(root)] == [events[0].seq, events[3].seq, events[4].seq]


def test_without_a_journal_folder_events_are_committed_one_step_at_a_time(tmp_path):
    path = tmp_path / "runs.db"
    (tmp_path / "runs.db-events").write_text("not a folder")
    store = RunStore(path)
    with pytest.warns(StoreWarning, match="committed one step at a time"):
        counts, _ = _counting(store, 3)
    assert counts == [0, 3, 5]
    with pytest.warns(StoreWarning, match="showing what the store holds"):
        assert store.list_runs()[0]["model_calls"] == 3
