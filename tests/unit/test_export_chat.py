"""``ponder runs export --format chat``: the ``messages`` JSONL trainers read, filtered by outcome and eval score,
loaded with Hugging Face ``datasets`` as a trainer would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from export_chat_helpers import record_of
from ponder import Budget, Engine, ScriptedModel, strategies
from ponder.builder import run
from ponder.cli import main
from ponder.store import RunStore
from ponder.tools import calculator_tool


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# -- the recipe: ponder eval -> keep the correct runs -> export -> a trainer's loader -------------------


def test_an_evals_correct_runs_export_as_chat_and_load_with_datasets(capsys, tmp_path):
    datasets = pytest.importorskip("datasets")
    items = [
        {"question": "say 7", "answer": "7"},
        {"question": "say x", "answer": "8"},  # the echo fake answers "echo: say x": wrong
        {"question": "say 12", "answer": "12"},
    ]
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    store = tmp_path / "runs.db"
    code, _, err = run_cli(
        capsys, "eval", data, "-m", "scripted", "-s", "single,consistency", "--samples", "3",
        "--out", tmp_path / "out", "--store", store,
    )  # fmt: skip
    assert code == 0, err
    rows = lines(tmp_path / "out" / "results.jsonl")
    correct = {r["run_id"] for r in rows if r["score"] >= 1}
    assert len(correct) == 4 and len(rows) == 6

    train = tmp_path / "train.jsonl"
    code, out, err = run_cli(
        capsys, "runs", "export", "--format", "chat", "--min-score", "1", "--store", store, "-o", train
    )
    assert code == 0, err
    assert "wrote 4 records" in out
    loaded = datasets.load_dataset("json", data_files=str(train), split="train")
    assert loaded.column_names == ["messages"]
    assert loaded.num_rows == 4
    for messages in loaded["messages"]:
        assert [m["role"] for m in messages] == ["user", "assistant"]
        assert messages[0]["content"] in ("say 7", "say 12")
        assert messages[-1]["content"].endswith(("echo: say 7", "echo: say 12"))
    thinking = [m[-1]["content"] for m in loaded["messages"] if m[-1]["content"].startswith("<think>\n")]
    assert len(thinking) == 2  # consistency: its samples and the vote before the answer; single adds no steps
    assert all("[sample] echo: say" in t and "[vote] " in t for t in thinking)

    # the same runs, with where each came from
    code, out, err = run_cli(
        capsys, "runs", "export", "--format", "chat", "--min-score", "1", "--metadata", "--store", store
    )
    assert code == 0, err
    exported = [json.loads(line) for line in out.splitlines()]
    assert {r["ponder"]["run_id"] for r in exported} == correct
    assert all(r["ponder"]["score"] == 1.0 and r["ponder"]["outcome"] == "correct" for r in exported)
    code, out, _ = run_cli(capsys, "runs", "export", "--format", "chat", "--outcome", "incorrect", "--store", store)
    assert code == 0 and len(out.splitlines()) == 2


# -- the shapes -------------------------------------------------------------------------------------


def test_refine_is_question_reasoning_answer(tmp_path, echo_model):
    store = RunStore(tmp_path / "runs.db")
    result = Engine(echo_model, sinks=[store.sink()]).run(strategies.Refine(max_rounds=1), "Why is the sky blue?")
    record = record_of(store, result.run_id)
    assert record is not None
    messages = record["messages"]
    assert messages[0] == {"role": "user", "content": "Why is the sky blue?"}
    content = messages[1]["content"]
    assert messages[1]["role"] == "assistant"
    thought, answer = content.removeprefix("<think>\n").split("\n</think>\n\n")
    assert thought.startswith("[draft] reply to: Why is the sky blue?\n\n[critique] ")
    assert answer == result.answer
    assert not thought.endswith(result.answer)  # the last step only repeats the answer: left out
    plain = record_of(store, result.run_id, reasoning="none")
    assert plain is not None and plain["messages"][1]["content"] == result.answer


def test_a_conversation_the_question_ended_comes_first(tmp_path):
    spec = {
        "models": {"root": "scripted"},
        "history": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                    {"role": "assistant", "content": "Hello."}],
        "store": str(tmp_path / "runs.db"),
    }  # fmt: skip
    result = run(spec, "And the capital of France?")
    with RunStore(tmp_path / "runs.db") as store:
        record = record_of(store, result.run_id)
    assert record is not None
    assert [m["role"] for m in record["messages"]] == ["system", "user", "assistant", "user", "assistant"]
    assert record["messages"][3]["content"] == "And the capital of France?"
    assert record["messages"][4]["content"] == result.answer  # one call, no steps beyond the answer


def test_react_is_a_trajectory_with_observations_as_user_turns(tmp_path):
    script = ["Thought: multiply\nAction: calculator\nAction Input: 6*7", "Thought: done\nFinal Answer: 42"]
    store = RunStore(tmp_path / "runs.db")
    react = strategies.React(tools=(calculator_tool(),))
    result = Engine(ScriptedModel(script), sinks=[store.sink()]).run(react, "6*7 with a tool?")
    record = record_of(store, result.run_id, metadata=True)
    assert record is not None and record["ponder"]["shape"] == "trajectory"
    messages = record["messages"]
    assert [m["role"] for m in messages][-3:] == ["assistant", "user", "assistant"]
    assert "Observation: 42" in messages[-2]["content"]
    assert messages[-1]["content"] == script[1]


def test_runs_without_an_answer_are_left_out_and_the_filters_combine(capsys, tmp_path):
    store = RunStore(tmp_path / "runs.db")
    engine = Engine(ScriptedModel(lambda m: "x"), budget=Budget(max_steps=1), sinks=[store.sink()])
    empty = Engine(ScriptedModel([""]), sinks=[store.sink()]).run(strategies.Single(), "silent?")
    good = engine.run(strategies.Single(), "q1")
    manual = engine.run(strategies.Single(), "q2")
    half = engine.run(strategies.Single(), "q3")
    store.set_outcome(empty.run_id, "correct", "eval:x", score=1.0)
    store.set_outcome(good.run_id, "correct", "eval:x", score=1.0)
    store.set_outcome(manual.run_id, "correct", "manual")  # no score: not kept by --min-score
    store.set_outcome(half.run_id, "incorrect", "eval:judge", score=0.5)
    path = str(store.path)
    store.close()

    def export(*args):
        code, out, err = run_cli(capsys, "runs", "export", "--format", "chat", "--metadata", "--store", path, *args)
        assert code == 0, err
        return [json.loads(line)["ponder"]["run_id"] for line in out.splitlines()]

    assert export("--min-score", "1") == [good.run_id]
    assert export("--min-score", "0.5") == [good.run_id, half.run_id]
    assert export("--min-score", "0.5", "--outcome", "incorrect") == [half.run_id]
    assert export() == [good.run_id, manual.run_id, half.run_id]
    code, out, _ = run_cli(capsys, "runs", "export", "--format", "jsonl", "--min-score", "1", "--store", path)
    assert code == 0 and [json.loads(line)["run_id"] for line in out.splitlines()] == [empty.run_id, good.run_id]
    code, _, err = run_cli(capsys, "runs", "export", "--reasoning", "none", "--store", path)
    assert code == 2 and "--reasoning applies to --format chat" in err
    code, _, err = run_cli(capsys, "runs", "export", "--format", "chat", "--min-score", "nan", "--store", path)
    assert code == 2 and "Traceback" not in err
