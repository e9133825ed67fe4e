"""REPL sessions: variables and contexts kept across questions, stored, rebuilt by replay after a crash.

These tests start a process, a server or a real model; the others are in tests/unit/test_repl_session.py."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from ponder import Budget, Engine, ScriptedModel
from ponder.builder import resume
from ponder.cli import cli
from ponder.errors import ModelCallError
from ponder.store import RunStore
from ponder.store.sessions import SessionStore
from ponder.strategies.recursive_code import RecursiveCode
from ponder.strategies.repl_session import ReplSession
from ponder.types import Message
from repl_session_helpers import FIRST

SECOND = "\n".join(f"refund {i}: amount={i}" for i in range(10))


def block(code: str) -> str:
    return f"```python\n{code}\n```"


def turn(messages: Sequence[Message]) -> int:
    return sum(m.role == "assistant" for m in messages)


def session_model(messages: Sequence[Message]) -> str:
    if messages[0].role != "system":
        return "12250"  # the sub-model sums the orders
    task = messages[1].content
    if "total of the orders" in task:
        if turn(messages) == 0:
            return block("total = int(llm_query('Sum the amounts: ' + context))\nprint(total)")
        return block("FINAL(total)")
    if "net of refunds" in task:
        if turn(messages) == 0:
            return block("refunds = sum(int(l.split('=')[1]) for l in context.splitlines())\nSHOW_VARS()")
        return block("FINAL(total - refunds)")
    return block("FINAL('?')")


def run_turn(store: RunStore, model: ScriptedModel, question: str, context: str, name: str = "books") -> str | None:
    session = ReplSession(SessionStore(store), name)
    result = Engine(model, budget=Budget(max_steps=10)).run(RecursiveCode(context, session=session), question)
    return result.answer


@pytest.mark.integration
def test_a_session_keeps_variables_and_contexts_across_questions(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.db")
    model = ScriptedModel(session_model)
    assert run_turn(store, model, "What is the total of the orders?", FIRST) == "12250"
    sub_calls = sum(c.messages[0].role == "user" for c in model.calls)
    assert sub_calls == 1
    # a new question, a new context: `total` from the first question is still there (rebuilt by replay)
    assert run_turn(store, model, "What is the net of refunds?", SECOND) == str(12250 - 45)
    assert sum(c.messages[0].role == "user" for c in model.calls) == sub_calls  # replay made no model call
    second = [c for c in model.calls if len(c.messages) > 1 and "net of refunds" in c.messages[1].content]
    listing = second[1].messages[-1].content
    assert "context_0: str" in listing and "context_1: str" in listing and "total: int" in listing
    assert "history_0: list" in listing
    assert "context_0 ... context_0" in second[0].messages[1].content  # the root is told about earlier turns
    turns = SessionStore(store).turns("books")
    assert [(t.turn, t.status, t.answer) for t in turns] == [(0, "finished", "12250"), (1, "finished", "12205")]
    assert turns[0].context == FIRST
    store.close()


@pytest.mark.integration
def test_a_crashed_turn_keeps_its_cells_and_is_redone_when_asked_again(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.db")
    calls = {"n": 0}

    def flaky(messages: Sequence[Message]) -> str:
        if messages[0].role == "system" and turn(messages) == 1 and "total of the orders" in messages[1].content:
            calls["n"] += 1
            if calls["n"] == 1:
                raise ModelCallError("the server went away")  # the crash, after the first cell ran
        return session_model(messages)

    model = ScriptedModel(flaky)
    with pytest.raises(ModelCallError):
        run_turn(store, model, "What is the total of the orders?", FIRST)
    turns = SessionStore(store).turns("books")
    assert [(t.turn, t.status) for t in turns] == [(0, "unfinished")]
    assert len(SessionStore(store).cells("books", 0)) == 1  # the cell that ran before the crash is stored
    # the same question again redoes turn 0 (not a new turn), and its answer comes through
    assert run_turn(store, model, "What is the total of the orders?", FIRST) == "12250"
    turns = SessionStore(store).turns("books")
    assert [(t.turn, t.status) for t in turns] == [(0, "finished")]
    store.close()


@pytest.mark.integration
def test_an_unfinished_turn_is_replayed_for_the_next_question(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.db")

    def crash_after_cell(messages: Sequence[Message]) -> str:
        if messages[0].role == "system" and turn(messages) == 1 and "total of the orders" in messages[1].content:
            raise ModelCallError("gone")
        return session_model(messages)

    with pytest.raises(ModelCallError):
        run_turn(store, ScriptedModel(crash_after_cell), "What is the total of the orders?", FIRST)
    model = ScriptedModel(session_model)
    # the REPL comes back as it was at the crash: `total` was computed by the crashed turn's cell
    assert run_turn(store, model, "What is the net of refunds?", SECOND) == "12205"
    assert all(c.messages[0].role == "system" for c in model.calls)  # no sub-call: replayed from the store
    store.close()


@pytest.mark.integration
def test_ponder_resume_of_a_crashed_turn_replays_it_and_finishes_the_session_turn(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.db")

    def crash(messages: Sequence[Message]) -> str:
        if messages[0].role == "system" and turn(messages) == 1:
            raise ModelCallError("the server went away")
        return session_model(messages)

    question = "What is the total of the orders?"
    strategy = RecursiveCode(FIRST, session=ReplSession(SessionStore(store), "books"))
    with pytest.raises(ModelCallError):
        Engine(ScriptedModel(crash), sinks=[store.sink()], budget=Budget(max_steps=10)).run(strategy, question)
    run_id = store.list_runs()[0]["run_id"]
    model = ScriptedModel(session_model)
    fresh = RecursiveCode(FIRST, session=ReplSession(SessionStore(store), "books"))
    result, replayer = resume(store, run_id, model=model, strategy=fresh)
    assert result.answer == "12250" and replayer.replayed_calls == 2  # the first code call and its sub-call
    assert len(model.calls) == 1  # only the turn after the crash was live
    assert [(t.turn, t.status, t.answer) for t in SessionStore(store).turns("books")] == [(0, "finished", "12250")]
    store.close()


@pytest.mark.integration
def test_ask_session_keeps_the_repl_across_two_commands(tmp_path: Path) -> None:
    from servers import FakeChatServer

    def reply(body: dict[str, object]) -> str:
        messages = body["messages"]
        assert isinstance(messages, list)
        return session_model([Message(m["role"], m["content"]) for m in messages])

    first, second = tmp_path / "orders.txt", tmp_path / "refunds.txt"
    first.write_text(FIRST)
    second.write_text(SECOND)
    store = tmp_path / "runs.db"
    with FakeChatServer(reply=reply) as server:
        common = ["--model", "openai:fake", "--base-url", server.url, "--session", "books", "--store", str(store)]
        one = CliRunner().invoke(
            cli, ["ask", "What is the total of the orders?", "--context", str(first), "--json", *common]
        )
        assert one.exit_code == 0, one.output
        assert json.loads(one.output)["answer"] == "12250"
        two = CliRunner().invoke(
            cli, ["ask", "What is the net of refunds?", "--context", str(second), "--json", *common]
        )
        assert two.exit_code == 0, two.output
        result = json.loads(two.output)
    assert result["answer"] == "12205"
    session = next(s for s in result["steps"] if s["kind"] == "session")
    assert session["data"]["turn"] == 1 and session["data"]["restored_turns"] == 1 and session["data"]["cells"] == 2


@pytest.mark.integration
def test_ponder_sessions_lists_and_drops(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.db")
    assert run_turn(store, ScriptedModel(session_model), "What is the total of the orders?", FIRST) == "12250"
    store.close()
    where = ["--store", str(tmp_path / "runs.db")]
    listed = CliRunner().invoke(cli, ["sessions", "--json", *where])
    assert listed.exit_code == 0, listed.output
    assert [(r["name"], r["turns"], r["cells"]) for r in json.loads(listed.output)] == [("books", 1, 2)]
    dropped = CliRunner().invoke(cli, ["sessions", "--drop", "books", *where])
    assert dropped.exit_code == 0 and "dropped" in dropped.output
    assert CliRunner().invoke(cli, ["sessions", *where]).output.strip() == "no sessions"
    missing = CliRunner().invoke(cli, ["sessions", "--drop", "books", *where])
    assert missing.exit_code != 0 and "there is no session 'books'" in str(missing.exception)
