"""Resume: a killed or failed run goes on from the store, replaying what was recorded, paying for nothing twice."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from ponder import Engine, ScriptedModel, resume, strategies
from ponder.cli import main
from ponder.errors import ModelCallError
from ponder.store import ReplayDivergedError, Replayer, RunStore, StoreError


def test_a_failed_run_resumes_from_the_first_missing_result(tmp_path, shared):
    store = RunStore(tmp_path / "runs.db")
    reference = Engine(shared.model()).run(shared.Fanout(), "q")
    calls = {"n": 0}

    def flaky(messages):
        calls["n"] += 1
        if calls["n"] == 5:
            raise ModelCallError("server went away")
        return shared.reply(messages)

    with pytest.raises(ModelCallError):
        Engine(ScriptedModel(flaky, supports_concurrency=False), sinks=[store.sink()]).run(shared.Fanout(), "q")
    [row] = store.list_runs()
    assert row["status"] == "error" and row["model_calls"] == 4
    live = shared.model()
    result, replayer = resume(store, row["run_id"], model=live, strategy=shared.Fanout())
    assert result.answer == reference.answer
    assert replayer.replayed_calls == 4
    assert len(live.calls) == reference.usage.model_calls - 4
    events = store.events(row["run_id"])
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert sum(e["type"] == "run_finished" and e["stop_reason"] == "error" for e in events) == 0


def test_a_changed_strategy_is_detected_not_silently_mixed(tmp_path, shared):
    store = RunStore(tmp_path / "runs.db")
    with pytest.raises(ModelCallError):
        Engine(ScriptedModel(["a", "b", "c"]), sinks=[store.sink()]).run(strategies.Refine(), "q")
    run_id = store.list_runs()[0]["run_id"]
    changed = strategies.Refine(system_prompt="You are terse.")
    with pytest.raises(ReplayDivergedError, match="diverged at step 0"):
        resume(store, run_id, model=shared.model(), strategy=changed)


def test_a_finished_run_is_not_resumed(tmp_path, echo_model):
    store = RunStore(tmp_path / "runs.db")
    result = Engine(echo_model, sinks=[store.sink()]).run(strategies.Single(), "q")
    with pytest.raises(StoreError, match="already finished"):
        resume(store, result.run_id, model=echo_model, strategy=strategies.Single())


def _cut_after_model_calls(path: Path, run_id: str, keep: int) -> None:
    """Make the stored run look killed right after its ``keep``-th model call."""
    with sqlite3.connect(path) as conn:
        seqs = [
            s
            for (s,) in conn.execute(
                "SELECT seq FROM events WHERE root_id = ? AND type = 'model_call' ORDER BY seq", (run_id,)
            )
        ]
        conn.execute("DELETE FROM events WHERE root_id = ? AND seq > ?", (run_id, seqs[keep - 1]))
        conn.execute(
            "UPDATE runs SET status = 'unfinished', answer = NULL, stop_reason = NULL WHERE root_id = ?", (run_id,)
        )


def test_cli_resume_prints_like_ask(capsys, tmp_path):
    db = tmp_path / "cli.db"
    args = ["ask", "why is the sea salty?", "-m", "scripted", "-s", "refine", "--max-steps", "6", "--json"]
    assert main([*args, "--store", str(db)]) == 0
    original = json.loads(capsys.readouterr().out)
    _cut_after_model_calls(db, original["run_id"], keep=2)
    assert main(["resume", original["run_id"], "--store", str(db), "--json"]) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert resumed["resumed"] == {"replayed_calls": 2, "replayed_tools": 0}
    for key in ("run_id", "answer", "stop_reason", "usage"):
        assert resumed[key] == original[key]
    assert [s["text"] for s in resumed["steps"]] == [s["text"] for s in original["steps"]]
    assert main(["runs", "show", original["run_id"], "--store", str(db)]) == 0
    out = capsys.readouterr().out
    assert "resume 1" in out and "2 model calls and 0 tool calls replayed" in out
    # the live view works too, and a second resume of the finished run is refused in one line
    _cut_after_model_calls(db, original["run_id"], keep=3)
    assert main(["resume", original["run_id"], "--store", str(db)]) == 0
    assert "3 model calls replayed" in capsys.readouterr().out
    assert main(["resume", original["run_id"], "--store", str(db)]) == 1
    assert "already finished" in capsys.readouterr().err


def test_tool_calls_are_replayed_not_repeated(tmp_path):
    from ponder.tools import calculator_tool

    script = ["Thought: add\nAction: calculator\nAction Input: 2+2", "Thought: done\nFinal Answer: 4"]
    store = RunStore(tmp_path / "tools.db")
    with pytest.raises(ModelCallError):
        Engine(ScriptedModel(script[:1]), sinks=[store.sink()]).run(
            strategies.React(tools=(calculator_tool(),)), "2+2?"
        )
    run_id = store.list_runs()[0]["run_id"]
    assert store.run(run_id)["tool_calls"] == 1
    fake = calculator_tool()
    calls: list[object] = []
    real_fn = fake.fn
    fake.fn = lambda **kw: calls.append(kw) or real_fn(**kw)
    live = ScriptedModel(script[1:])
    result, replayer = resume(store, run_id, model=live, strategy=strategies.React(tools=(fake,)))
    assert result.answer == "4"
    assert replayer.replayed_tools == 1 and replayer.replayed_calls == 1
    assert calls == []  # the recorded observation was used; the tool was not called again
    assert store.run(run_id)["tool_calls"] == 1


def test_two_resumes_of_one_run_at_once_are_refused_not_mixed(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    with pytest.raises(ModelCallError):
        Engine(ScriptedModel(["a", "b"]), sinks=[store.sink()]).run(strategies.Refine(), "q")
    run_id = store.list_runs()[0]["run_id"]
    store.drop_error_tail(run_id)
    events = store.events(run_id)
    # a second resume starts from the same stored state while the first one is still going
    late = Engine(ScriptedModel(["c", "NO ISSUES"]), sinks=[store.sink(resume=run_id)], replay=Replayer(events))
    result, _ = resume(store, run_id, model=ScriptedModel(["c", "NO ISSUES"]), strategy=strategies.Refine())
    assert result.stop_reason == "converged"
    with pytest.raises(StoreError, match="another process"):
        late.run(strategies.Refine(), "q")
    assert [e["seq"] for e in store.events(run_id)] == list(range(1, len(store.events(run_id)) + 1))


def test_a_stored_spec_keeps_the_memory_settings_for_resume():
    from ponder import RunSpec, open_run
    from ponder.spec.legacy import spec_from_stored

    spec = RunSpec.from_dict(
        {"strategy": "refine", "models": {"root": "scripted"}, "memory": {"mode": "notes", "threshold": 0.5}}
    )
    again = spec_from_stored(json.loads(spec.to_json()))
    assert again == spec
    with open_run(again) as opened:
        memory = opened.strategy.memory  # type: ignore[attr-defined]
        assert (memory.mode, memory.threshold, memory.window) == ("notes", 0.5, opened.models["root"].context_window)
    # a recipe stored before run specs existed still rebuilds the same run
    recipe = {
        "strategy": "route",
        "model": "scripted",
        "budget": {"max_steps": 12},
        "strategy_options": {"slow": "consistency", "samples": 3, "check": "judge"},
        "memory": None,
        "stop": None,
    }
    legacy = spec_from_stored(recipe)
    assert legacy.strategy.to_dict() == {
        "strategy": "route",
        "verifier": "judge",
        "fast": {"strategy": "single"},
        "slow": {"strategy": "consistency", "samples": 3},
    }
    assert legacy.budget.max_steps == 12 and legacy.model().model == "scripted"
