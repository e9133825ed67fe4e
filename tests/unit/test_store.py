"""The run store: events committed as they happen, listing/showing runs, migrations, bad files, two writers."""

from __future__ import annotations

import json
import sqlite3

import pytest

from fanout_strategy import Fanout
from ponder import Engine, ScriptedModel, strategies
from ponder.cli import main
from ponder.store import SCHEMA_VERSION, RunStore, StoreError
from ponder.store.schema import connect
from ponder.store.writer import EventWriter


def test_each_event_is_durable_before_the_next_call(tmp_path):
    """Before each model call, another store of the same file (what ``ponder runs show`` opens) sees every
    call made so far: it moves the writer's journal in, and the writer does not insert those rows twice."""
    path = tmp_path / "runs.db"
    store = RunStore(path)
    seen: list[int] = []

    def reply(messages):
        with RunStore(path) as other:
            runs = other.list_runs()  # the run's start is recorded with its first call
            seen.append(runs[0]["model_calls"] if runs else 0)
        return f"pass {len(seen)}"

    engine = Engine(ScriptedModel(reply), sinks=[store.sink()])
    result = engine.run(strategies.Refine(max_rounds=2), "What is 2+2?")
    assert seen == list(range(len(seen)))
    assert len(seen) == result.usage.model_calls >= 3
    info = store.run(result.run_id)
    assert info["status"] == "finished"
    assert info["answer"] == result.answer
    assert info["model_calls"] == result.usage.model_calls
    assert [e["seq"] for e in store.events(result.run_id)] == [e.seq for e in result.events]
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()
    journals = tmp_path / "runs.db-events"
    assert not journals.exists() or not list(journals.iterdir())  # everything moved in, no journal left


def test_the_log_is_checkpointed_by_a_thread_not_inside_commits(tmp_path, monkeypatch):
    """The store's connection never checkpoints inside a commit; a thread shared by the stores of one file
    copies the log back every few events written (kept across the runs that open and close the store) and ends
    when the last store of the file closes."""
    import time as clock

    from ponder.store import checkpoint

    monkeypatch.setattr(checkpoint, "ROWS", 6)
    path = tmp_path / "runs.db"
    keeper = RunStore(path)  # e.g. a server's, open while runs come and go
    assert keeper._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    for _ in range(4):  # four runs of four events each: only the count across them reaches 6
        with RunStore(path) as store:
            Engine(ScriptedModel(lambda m: "ok"), sinks=[store.sink()]).run(strategies.Single(), "q")
    shared = checkpoint.attach(path)
    deadline = clock.monotonic() + 30
    while shared.checkpoints == 0 and clock.monotonic() < deadline:
        clock.sleep(0.01)
    assert shared.checkpoints >= 1
    thread = shared._thread
    assert thread is not None and thread.is_alive()
    checkpoint.detach(shared)
    keeper.close()
    assert shared._thread is None and not thread.is_alive()  # the last store of the file stopped it
    assert len(RunStore(path).list_runs()) == 4


def test_the_log_starts_over_while_a_fast_writer_keeps_committing(tmp_path, monkeypatch):
    """A writer that commits while every passive checkpoint runs never finds the log fully copied back, so
    SQLite would never start it over: the checkpointer restarts it, and the log stays small.

    Deterministic: the race is made on purpose (a commit lands right after each passive checkpoint, as a
    fast writer's would) and the checkpoints run at fixed points, so the sizes do not depend on the load."""
    import os

    from ponder.store import checkpoint

    monkeypatch.setattr(checkpoint, "RESTART_FRAMES", 64)
    path = tmp_path / "runs.db"
    RunStore(path).close()  # a store file in WAL mode

    class Racing:
        """The checkpointer's connection, with a writer's transaction open across each passive checkpoint."""

        def __init__(self, conn, writer):
            self.conn, self.writer = conn, writer

        def execute(self, sql):
            if "PASSIVE" not in sql:
                return self.conn.execute(sql)
            self.writer.execute("BEGIN IMMEDIATE")
            insert(self.writer)
            cursor = self.conn.execute(sql)
            self.writer.execute("COMMIT")  # lands after the copy: the log is never all copied back
            return cursor

    def insert(writer):
        writer.execute(
            "INSERT INTO outcomes (root_id, outcome, time) VALUES (hex(randomblob(16)), ?, 0)", ("x" * 6000,)
        )

    def commit(writer):
        insert(writer)  # autocommit: one transaction

    def log_frames(restart_frames):
        monkeypatch.setattr(checkpoint, "RESTART_FRAMES", restart_frames)
        writer = sqlite3.connect(path, isolation_level=None)
        writer.execute("PRAGMA wal_autocheckpoint = 0")  # as the store's own connections: the checkpointer's job
        writer.execute("PRAGMA synchronous = NORMAL")
        keeper = sqlite3.connect(path, isolation_level=None)  # keeps the log file while the others come and go
        keeper.execute("PRAGMA wal_autocheckpoint = 0")
        shared = checkpoint.Checkpointer(path)
        racing = Racing(sqlite3.connect(path, isolation_level=None), writer)
        for i in range(1, 601):
            commit(writer)
            if i % 30 == 0:
                shared.checkpoint(racing)
        size = os.path.getsize(f"{path}-wal")
        for conn in (racing.conn, writer, keeper):
            conn.close()
        return shared.restarts, size

    restarts, size = log_frames(64)
    assert restarts >= 10  # every few checkpoints start the log over...
    never, grown = log_frames(1 << 30)  # ...which SQLite alone never does while a writer races the checkpoint
    assert never == 0
    assert size < 1_000_000 < 5_000_000 < grown  # 600 commits of about five 4 KiB pages each: 12 MB of log


def test_child_runs_and_batches_belong_to_their_top_level_run(tmp_path, echo_model):
    store = RunStore(tmp_path / "runs.db")
    result = Engine(echo_model, sinks=[store.sink()]).run(Fanout(), "go")
    info = store.run(result.run_id)
    assert [c["depth"] for c in info["children"]] == [1]
    assert info["children"][0]["parent_run_id"] == result.run_id
    child_id = info["children"][0]["run_id"]
    assert store.resolve(child_id) == result.run_id  # a child id leads to its run
    kinds = [e.get("kind") for e in store.events(result.run_id) if e["type"] == "model_call"]
    assert kinds[:2] == ["sample", "sample"]
    assert "critique" in kinds
    assert [r["run_id"] for r in store.list_runs()] == [result.run_id]  # children are not listed


def test_cli_ask_stores_the_run_and_runs_list_show_read_it(capsys, tmp_path):
    db = str(tmp_path / "cli.db")
    assert main(["ask", "why is the sky blue?", "-m", "scripted", "-s", "refine", "--json", "--store", db]) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    assert main(["runs", "list", "--store", db]) == 0
    out = capsys.readouterr().out
    assert run_id in out and "why is the sky blue?" in out
    assert main(["runs", "show", run_id[:6], "--store", db]) == 0
    out = capsys.readouterr().out
    assert "critique" in out and "stop reason:" in out
    assert main(["runs", "show", run_id, "--store", db, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["run_id"] == run_id and shown["events"][0]["type"] == "run_started"


def test_ask_uses_the_default_store_and_no_store_turns_it_off(capsys, tmp_path, monkeypatch):
    db = tmp_path / "default.db"
    monkeypatch.setenv("PONDER_STORE", str(db))
    assert main(["ask", "one", "-m", "scripted", "--json"]) == 0
    assert main(["ask", "two", "-m", "scripted", "--json", "--no-store"]) == 0
    capsys.readouterr()
    assert [r["question"] for r in RunStore(db).list_runs()] == ["one"]


def test_unknown_run_is_one_line(capsys, tmp_path):
    RunStore(tmp_path / "x.db").close()
    code = main(["runs", "show", "nosuchrun", "--store", str(tmp_path / "x.db")])
    err = capsys.readouterr().err
    assert code == 1 and "no run 'nosuchrun'" in err and err.count("\n") == 1


def test_corrupted_and_foreign_files_give_a_clear_error(capsys, tmp_path):
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database at all" * 100)
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE notes (text)")
    for path, needle in ((garbage, "not a usable ponder run store"), (foreign, "not a ponder run store")):
        with pytest.raises(StoreError, match=needle):
            RunStore(path)
        assert main(["runs", "list", "--store", str(path)]) == 1
        err = capsys.readouterr().err
        assert needle in err and err.count("\n") == 1


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.db"
    RunStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="upgrade ponder"):
        RunStore(path)


def test_an_old_store_is_migrated_forward_keeping_its_runs(tmp_path, echo_model):
    path = tmp_path / "old.db"
    conn = connect(path, upto=1)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()
    # a version-1 store can already hold runs and events
    old = RunStore.__new__(RunStore)
    old.path, old._db = path, connect(path, upto=1)
    old._writer = EventWriter(old, journaled=False, committed=lambda rows: None)  # no journals before version 7
    roots: list[str] = []

    def sink(event):  # the events as a version-1 store held them (no lease: that table came with version 3)
        roots.append(roots[0] if roots else event.run_id)
        old.write_event(roots[0], event)

    result = Engine(echo_model, sinks=[sink]).run(strategies.Single(), "kept?")
    old.close()
    store = RunStore(path)
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.run(result.run_id)["answer"] == "reply to: kept?"
    store.set_outcome(result.run_id, "correct", "test")  # a table added by migration 2
    assert store.outcome(result.run_id) == "correct"


def test_outcomes_filter_runs(tmp_path, echo_model):
    store = RunStore(tmp_path / "runs.db")
    engine = Engine(echo_model, sinks=[store.sink()])
    a = engine.run(strategies.Single(), "a").run_id
    b = engine.run(strategies.Refine(max_rounds=1), "b").run_id
    c = engine.run(strategies.Single(), "c").run_id
    store.set_outcome(a, "correct")
    store.set_outcome(b, "incorrect")
    assert store.root_ids(outcome="correct") == [a]
    assert store.root_ids(outcome="unknown") == [c]
    assert store.root_ids(strategy="single") == [a, c]
    with pytest.raises(StoreError, match="unknown outcome"):
        store.set_outcome(a, "great")
