"""The run store on a real PostgreSQL server: same schema, same migrations, same commands; two servers at once.

These tests start a process, a server or a real model; the others are in tests/unit/test_store_postgres.py."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator

import openai
import psycopg
import pytest

import ponder
from faults import fail_from
from ponder.cli import main
from ponder.errors import ModelCallError
from ponder.store import SCHEMA_VERSION, RunStore, StoreError
from postgres import postgres_server
from servers import FakeChatServer, free_port, start_process_server, stop_process


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture
def pg(pg_server: str, request) -> Iterator[str]:
    """A fresh database of the shared server for one test."""
    name = "t_" + request.node.name.lower().replace("[", "_").replace("]", "").replace("-", "_")[:50]
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_server.rsplit("/", 1)[0] + "/" + name


@pytest.mark.integration
def test_runs_are_stored_listed_and_resumed_like_in_sqlite(pg):
    store = RunStore(pg)
    model = fail_from(ponder.load_model("scripted"), 3)
    with pytest.raises(ModelCallError):
        ponder.Engine(model, sinks=[store.sink()]).run(ponder.Refine(), "Why is the sky blue?")
    [row] = store.list_runs()
    assert row["status"] == "error" and row["model_calls"] == 2
    result, replayer = ponder.resume(store, row["run_id"][:6])
    assert replayer.replayed_calls == 2 and result.run_id == row["run_id"]
    info = store.run(row["run_id"])
    assert info["status"] == "finished" and info["resumes"][0]["replayed_calls"] == 2
    events = store.events(row["run_id"])
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert isinstance(info["started"], float) and info["finished"] - info["started"] < 60  # full precision times
    store.set_outcome(row["run_id"], "correct", "test")
    store.set_outcome(row["run_id"], "incorrect", "test")
    assert store.outcome(row["run_id"]) == "incorrect"
    store.close()


@pytest.mark.integration
def test_the_cli_commands_take_a_postgresql_url(pg, capsys, tmp_path):
    assert main(["ask", "What is 2+2?", "-m", "scripted", "-s", "refine", "--store", pg, "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    assert main(["runs", "list", "--store", pg, "--json"]) == 0
    assert [json.loads(line)["run_id"] for line in capsys.readouterr().out.splitlines()] == [run_id]
    assert main(["runs", "show", run_id, "--store", pg, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["model_calls"] >= 3 and shown["events"][0]["spec"]["strategy"] == {"strategy": "refine"}
    assert main(["runs", "export", "--store", pg, "-o", str(tmp_path / "out.jsonl")]) == 0
    assert (tmp_path / "out.jsonl").read_text().count("\n") == 1
    assert main(["runs", "html", run_id, "--store", pg, "-o", str(tmp_path / "run.html")]) == 0
    capsys.readouterr()
    assert main(["resume", run_id, "--store", pg]) == 1
    assert "already finished" in capsys.readouterr().err


@pytest.mark.integration
def test_the_schema_is_migrated_once_and_a_newer_one_is_refused(pg):
    RunStore(pg).close()
    RunStore(pg).close()  # a second open migrates nothing
    with psycopg.connect(pg, autocommit=True) as conn:
        assert conn.execute("SELECT version FROM ponder_store").fetchall() == [(SCHEMA_VERSION,)]
        kinds = dict(
            conn.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'runs'")
        )
        assert kinds["started"] == "double precision"
        conn.execute("UPDATE ponder_store SET version = version + 1")
    with pytest.raises(StoreError, match="upgrade ponder"):
        RunStore(pg)


@pytest.mark.integration
def test_two_servers_write_runs_into_one_store_at_once(pg, tmp_path):
    with FakeChatServer(delay=0.05) as upstream:
        servers = []
        for _ in range(2):
            port = free_port()
            command = [sys.executable, "-m", "ponder", "serve", "--port", str(port), "--store", pg]
            command += ["--model", "openai:up", "--base-url", upstream.url, "--max-concurrent", "8"]
            servers.append(start_process_server(command, port, ready_path="/health", wait=60))
        try:

            async def burst(base_url: str) -> list[str]:
                async with openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0) as client:
                    replies = await asyncio.gather(
                        *(
                            client.chat.completions.create(
                                model="consistency", messages=[{"role": "user", "content": f"q{i}"}],
                                extra_body={"ponder": {"samples": 3, "adaptive": False}},
                            )
                            for i in range(8)
                        )
                    )  # fmt: skip
                return [r.model_extra["ponder"]["run_id"] for r in replies]

            async def both() -> list[list[str]]:
                return await asyncio.gather(*(burst(s.base_url) for s in servers))

            ids = [run_id for batch in asyncio.run(both()) for run_id in batch]
        finally:
            for server in servers:
                stop_process(server.process)
    store = RunStore(pg)
    assert len(set(ids)) == 16
    for run_id in ids:
        info = store.run(run_id)
        assert info["status"] == "finished" and info["model_calls"] == 3
        events = store.events(run_id)
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {r["run_id"] for r in store.list_runs()} == set(ids)


@pytest.mark.integration
def test_session_cells_keep_their_fate_and_values(pg):
    from ponder.store.sessions import Cell, SessionStore

    store = RunStore(pg)
    sessions = SessionStore(store)
    sessions.begin("s", 0, "q", ["a", "b"])
    sessions.add_cell("s", 0, Cell(1, "x = 1", [["llm_query", True, ["y"]]], "ran", 2.5, b"\x80\x05data\x00", ("f",)))
    sessions.add_cell("s", 0, Cell(2, "import os; os._exit(1)", [], "lost", 0.01))
    sessions.keep_values("s", 0, 2, 3.0, b"\x00\x01", [])
    sessions.mark_lost("s", 0, 1)
    cells = sessions.cells("s", 0)
    assert [(c.status, c.seconds, c.snapshot, c.unkept) for c in cells] == [
        ("lost", 2.5, b"\x80\x05data\x00", ("f",)),
        ("lost", 3.0, b"\x00\x01", ()),
    ]
    assert cells[0].calls == [["llm_query", True, ["y"]]] and sessions.turns("s")[0].context == ["a", "b"]
    store.close()
