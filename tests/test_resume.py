"""Resume: a killed or failed run goes on from the store, replaying what was recorded, paying for nothing twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from ponder import Engine, ScriptedModel, resume, strategies
from ponder.cli import main
from ponder.errors import ModelCallError
from ponder.store import ReplayDivergedError, Replayer, RunStore, StoreError

# the strategy and the deterministic model are shared with the killed subprocess (see KILLED below)
SHARED = textwrap.dedent(
    """
    import hashlib
    import threading
    import time

    from ponder import Batch, Generate, Outcome, Record, ScriptedModel, strategies
    from ponder.requests import Child
    from ponder.types import user


    class Fanout:
        name = "fanout"

        def run(self, question):
            first = yield Batch(
                (Generate.of([user(question)], "sample"), Generate.of([user(question + " again")], "sample"))
            )
            yield Record("vote", "picked", {"votes": [1, 0]})
            child = yield Child(strategies.Refine(max_rounds=2), "child: " + first[1].text)
            last = yield Generate.of([user(question), user(child.answer or "")], "final")
            return Outcome(last.text)


    _calls = [0]
    _counting = threading.Lock()


    def reply(messages, delay=0.0, stall_after=None):
        with _counting:
            _calls[0] += 1
            n = _calls[0]
        if stall_after is not None and n > stall_after:
            time.sleep(600)  # hangs until the test kills the process: exactly stall_after calls are recorded
        time.sleep(delay)
        digest = hashlib.sha256("|".join(m.content for m in messages).encode()).hexdigest()
        return "answer " + digest[:4] + " " + digest[4:10]


    def model(delay=0.0, stall_after=None):
        return ScriptedModel(lambda messages: reply(messages, delay, stall_after))
    """
)

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


@pytest.fixture
def shared(tmp_path, monkeypatch):
    (tmp_path / "shared.py").write_text(SHARED)
    monkeypatch.syspath_prepend(str(tmp_path))
    import shared as module  # type: ignore[import-not-found]

    return module


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
