"""Training-data export: (question, reasoning trace, answer, outcome) records, filtered by strategy and outcome."""

from __future__ import annotations

import json

import pytest

from ponder import Engine, ScriptedModel, strategies
from ponder.cli import main
from ponder.errors import ModelCallError
from ponder.store import RunStore
from ponder.tools import calculator_tool


@pytest.fixture
def store(tmp_path, echo_model):
    store = RunStore(tmp_path / "runs.db")
    engine = Engine(echo_model, sinks=[store.sink()])
    good = engine.run(strategies.Refine(max_rounds=1), "What is the capital of France?")
    bad = engine.run(strategies.Single(), "What is 6*7?")
    engine.run(strategies.Single(), "Unjudged?")
    react = strategies.React(tools=(calculator_tool(),))
    script = ["Thought: multiply\nAction: calculator\nAction Input: 6*7", "Thought: done\nFinal Answer: 42"]
    Engine(ScriptedModel(script), sinks=[store.sink()]).run(react, "6*7 with a tool?")
    with pytest.raises(ModelCallError):  # an unfinished run is not training data
        Engine(ScriptedModel([]), sinks=[store.sink()]).run(strategies.Single(), "crashed")
    store.set_outcome(good.run_id, "correct", "test-bench")
    store.set_outcome(bad.run_id, "incorrect", "test-bench")
    return store


def _export(capsys, store, *args):
    assert main(["runs", "export", "--format", "jsonl", "--store", str(store.path), *args]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_export_writes_question_trace_answer_outcome(capsys, store):
    records = _export(capsys, store)
    assert [r["question"] for r in records] == [
        "What is the capital of France?",
        "What is 6*7?",
        "Unjudged?",
        "6*7 with a tool?",
    ]
    refine = records[0]
    assert refine["outcome"] == "correct" and refine["strategy"] == "refine"
    kinds = [s["kind"] for s in refine["reasoning_trace"]]
    assert kinds[:3] == ["draft", "critique", "revision"]
    assert refine["reasoning_trace"][0]["text"] == "reply to: What is the capital of France?"
    assert refine["answer"] == store.run(refine["run_id"])["answer"]
    tool_steps = [s for s in records[3]["reasoning_trace"] if s["kind"] == "tool"]
    assert tool_steps == [{**tool_steps[0], "tool": "calculator", "arguments": "6*7", "text": "42"}]
    assert records[3]["answer"] == "42"


def test_export_filters_by_strategy_and_outcome(capsys, store):
    assert [r["question"] for r in _export(capsys, store, "--outcome", "correct")] == ["What is the capital of France?"]
    assert [r["outcome"] for r in _export(capsys, store, "--outcome", "incorrect")] == ["incorrect"]
    unknown = _export(capsys, store, "--outcome", "unknown")
    assert [r["question"] for r in unknown] == ["Unjudged?", "6*7 with a tool?"]
    assert {r["strategy"] for r in _export(capsys, store, "--strategy", "single")} == {"single"}
    assert _export(capsys, store, "--strategy", "single", "--outcome", "correct") == []


def test_export_to_a_file_and_record_an_outcome_from_the_cli(capsys, store, tmp_path):
    run_id = store.root_ids(outcome="unknown")[0]
    assert main(["runs", "outcome", run_id, "correct", "--store", str(store.path), "--source", "me"]) == 0
    out = tmp_path / "data.jsonl"
    assert main(["runs", "export", "-o", str(out), "--outcome", "correct", "--store", str(store.path)]) == 0
    assert "wrote 2 records" in capsys.readouterr().out
    assert len(out.read_text().splitlines()) == 2
