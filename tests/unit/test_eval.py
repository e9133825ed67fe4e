"""ponder eval: data, scorers, statistics, results, resume, errors, reports; scripted model and a loopback server."""

from __future__ import annotations

import json
import re

import pytest

from eval_helpers import rows_of, run_cli, write_jsonl
from layout import BENCHMARKS
from ponder.datasets.templated import arithmetic
from ponder.errors import ConfigError, PonderError
from ponder.eval import Fields, Item, get_scorer, load_items, select
from ponder.eval.arms import arms_from_flags
from ponder.eval.report import markdown, summarize
from ponder.eval.stats import mcnemar_exact, wilson
from ponder.store import RunStore

# -- data -----------------------------------------------------------------------


def test_jsonl_csv_and_folder_items_with_fields(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"q": "one?", "gold": 1}, {"q": "two?", "gold": "2", "ctx": "text"}])
    (tmp_path / "b.csv").write_text("input,answer,key\nthree?,3,k3\n", encoding="utf-8")
    items = load_items(tmp_path / "a.jsonl", Fields(question="q", context="ctx"))
    assert [(i.id, i.question, i.gold) for i in items] == [("1", "one?", "1"), ("2", "two?", "2")]
    assert items[1].context == "text" and items[0].context is None
    csv_items = load_items(tmp_path / "b.csv", Fields(id="key"))
    assert [(i.id, i.question, i.gold) for i in csv_items] == [("k3", "three?", "3")]
    with pytest.raises(ConfigError, match="no question field"):
        load_items(tmp_path, Fields())  # a.jsonl uses "q"
    both = load_items(tmp_path / "b.csv")
    assert both[0].id == "2"  # the CSV's line number (line 1 is the header)


def test_folder_ids_name_the_file_and_duplicates_are_refused(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    write_jsonl(folder / "x.jsonl", [{"question": "a", "answer": 1}])
    write_jsonl(folder / "y.jsonl", [{"question": "b", "answer": 2}])
    assert [i.id for i in load_items(folder)] == ["x.jsonl:1", "y.jsonl:1"]
    write_jsonl(tmp_path / "dup.jsonl", [{"question": "a", "id": 7}, {"question": "b", "id": 7}])
    with pytest.raises(ConfigError, match="appears twice"):
        load_items(tmp_path / "dup.jsonl", Fields(id="id"))
    (tmp_path / "bad.jsonl").write_text('{"question": "a"}\nnot json\n')
    with pytest.raises(ConfigError, match=r"bad.jsonl:2 is not valid JSON"):
        load_items(tmp_path / "bad.jsonl")


def test_context_path_values_and_missing_ones(tmp_path):
    (tmp_path / "doc.txt").write_text("the needle is 42")
    write_jsonl(tmp_path / "c.jsonl", [{"question": "needle?", "answer": 42, "ctx": "@doc.txt"}])
    (item,) = load_items(tmp_path / "c.jsonl", Fields(context="ctx"))
    assert item.context_path == str((tmp_path / "doc.txt").resolve()) and item.context is None
    write_jsonl(tmp_path / "m.jsonl", [{"question": "q", "ctx": "@nope.txt"}])
    with pytest.raises(ConfigError, match="does not exist"):
        load_items(tmp_path / "m.jsonl", Fields(context="ctx"))


def test_sample_is_seeded_and_keeps_file_order():
    items = [Item(str(i), f"q{i}") for i in range(50)]
    a = select(items, sample=10, seed=3)
    assert a == select(items, sample=10, seed=3)
    assert a != select(items, sample=10, seed=4)
    assert [int(i.id) for i in a] == sorted(int(i.id) for i in a)
    assert [i.id for i in select(items, sample=10, seed=3, limit=4)] == [i.id for i in a[:4]]
    assert len(select(items, limit=5)) == 5


# -- scorers --------------------------------------------------------------------


def score(spec: str, answer: str | None, gold: str | None, record: dict | None = None) -> tuple[float, bool]:
    result = get_scorer(spec).score(answer, Item("1", "q?", gold, record=record or {}))
    return result.score, result.correct


def test_builtin_scorers():
    assert score("exact", "  Paris. ", "paris") == (1.0, True)
    assert score("exact", "Paris, France", "paris") == (0.0, False)
    assert score("number", "So the total is 1,234 dollars.", "1234") == (1.0, True)
    assert score("number", "It costs $12.50 in all", "#### 12.5") == (1.0, True)
    assert score("number", "7 then 8", "7") == (0.0, False)  # the last number counts
    assert score("number", "no idea", "7") == (0.0, False)
    assert score("contains", "The capital is PARIS, I think", "paris") == (1.0, True)
    assert score("regex:answer: (\\w+)", "answer: blue", "Blue") == (1.0, True)
    assert score("regex:answer: (\\w+)", "answer: red", "blue") == (0.0, False)
    assert score("choice", "I think the answer is (C).", "C") == (1.0, True)
    assert score("choice", "B) because ...", "c") == (0.0, False)
    assert score("number", None, "3") == (0.0, False)


def test_python_scorer_and_bad_scorers(tmp_path, monkeypatch):
    (tmp_path / "myscore.py").write_text(
        "def half(answer, gold, record):\n    return 0.5 if record.get('k') else 0.0\n"
        "def full(answer, gold, record):\n    return {'score': 1, 'correct': True, 'detail': 'ok'}\n"
        "def broken(answer, gold, record):\n    raise ValueError('boom')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert score("python:myscore:half", "x", None, {"k": 1}) == (0.5, True)
    assert score("python:myscore:full", "x", None) == (1.0, True)
    with pytest.raises(Exception, match="raised ValueError: boom"):
        score("python:myscore:broken", "x", None)
    for bad, message in [
        ("nosuch", "unknown scorer"),
        ("python:nosuchmodule:f", "cannot import"),
        ("python:myscore:nofunc", "no function"),
        ("regex:(", "bad extraction pattern"),
    ]:
        with pytest.raises(ConfigError, match=message):
            get_scorer(bad)


def test_judge_scorer_uses_the_judge_model():
    from ponder import ScriptedModel

    judge = ScriptedModel(
        lambda messages: "CORRECT: same number" if "Proposed answer: 12" in messages[-1].content else "INCORRECT: no"
    )
    scorer = get_scorer("judge")
    assert scorer.needs_judge
    item = Item("1", "6+6?", "12")
    assert scorer.score("12", item, judge).correct
    assert not scorer.score("13", item, judge).correct
    assert "Reference answer: 12" in judge.calls[0].messages[-1].content


# -- statistics -----------------------------------------------------------------


def test_wilson_interval_and_exact_mcnemar():
    low, high = wilson(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-3) and high == pytest.approx(0.9433, abs=1e-3)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(10, 0) == pytest.approx(2 * 0.5**10)
    assert mcnemar_exact(3, 5) == pytest.approx(0.7265625)


def test_summary_pairs_items_and_report_shows_them():
    arms = arms_from_flags(["single", "refine"], [], {"model_spec": "scripted"}, {"model_spec"})
    base, other = arms
    rows = {}
    outcomes = [(True, True), (True, False), (False, True), (False, True), (False, False)]
    for i, (a, b) in enumerate(outcomes):
        for arm, ok in ((base, a), (other, b)):
            rows[(str(i), arm.hash)] = {
                "correct": ok,
                "score": float(ok),
                "model_calls": 1 if arm is base else 3,
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "seconds": 0.1,
                "error": None,
            }
    summary = summarize(arms, [str(i) for i in range(5)], rows)
    (pair,) = summary["paired"]
    assert (pair["wins"], pair["losses"], pair["ties"], pair["n"]) == (2, 1, 2, 5)
    assert pair["p_value"] == pytest.approx(1.0)
    assert [s["accuracy"] for s in summary["specs"]] == [0.4, 0.6]
    text = markdown({**summary, "data": "d.jsonl", "scorer": "number"})
    assert "| refine | single | 5 | 2 | 1 | 2 | 1.000 |" in text
    assert "| 3.0 | 15 |" in text and "shared" not in text  # rows without these fields count none
    for i in range(5):
        rows[(str(i), other.hash)].update(shared_calls=1 if i < 2 else 0, shared_tokens=15 if i < 2 else 0)
    summary = summarize(arms, [str(i) for i in range(5)], rows)
    assert summary["specs"][1]["mean_shared_calls"] == pytest.approx(0.4)
    text = markdown({**summary, "data": "d.jsonl", "scorer": "number"})
    assert "| 3.0 (+0.4 shared) | 15 (+6 shared) |" in text


# -- specs ----------------------------------------------------------------------


def test_flags_go_to_the_strategies_they_apply_to():
    values = {"model_spec": "scripted", "tool_spec": "calculator", "samples": 3}
    arms = arms_from_flags(["single", "react", "consistency"], [], values, {"model_spec", "tool_spec", "samples"})
    assert [a.name for a in arms] == ["single", "react+calculator", "consistency"]
    assert arms[0].spec.tools == () and arms[1].spec.tools == ("calculator",)
    assert arms[2].spec.strategy.options["samples"] == 3
    assert len({a.hash for a in arms}) == 3
    with pytest.raises(ConfigError, match="--tools applies to none"):
        arms_from_flags(["single"], [], {"tool_spec": "calculator"}, {"tool_spec"})
    with pytest.raises(PonderError, match="unknown strategy"):
        arms_from_flags(["nosuch"], [], {}, set())


def test_spec_hash_ignores_where_runs_are_stored(tmp_path):
    a = arms_from_flags(["single"], [], {"store_path": str(tmp_path / "a.db")}, {"store_path"})[0]
    b = arms_from_flags(["single"], [], {"store_path": str(tmp_path / "b.db")}, {"store_path"})[0]
    c = arms_from_flags(["single"], [], {"temperature": 0.7}, {"temperature"})[0]
    assert a.hash == b.hash != c.hash


# -- the command ----------------------------------------------------------------


def test_eval_writes_rows_summary_report_plot_and_outcomes(capsys, tmp_path):
    data = write_jsonl(
        tmp_path / "d.jsonl", [{"question": "say 7", "answer": "7"}, {"question": "say x", "answer": "8"}]
    )
    store = tmp_path / "runs.db"
    out = tmp_path / "out"
    code, stdout, err = run_cli(
        capsys,
        "eval",
        data,
        "-m",
        "scripted",
        "-s",
        "single,refine",
        "--max-steps",
        "3",
        "--out",
        out,
        "--store",
        store,
        "--json",
    )
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["scorer"] == "number" and summary["complete"] and summary["items"] == 2
    assert [s["name"] for s in summary["specs"]] == ["single", "refine"]
    rows = rows_of(out)
    assert len(rows) == 4 and {r["spec"] for r in rows} == {"single", "refine"}
    single = {r["item"]: r for r in rows if r["spec"] == "single"}
    assert single["1"]["correct"] and single["1"]["answer"] == "echo: say 7" and not single["2"]["correct"]
    assert single["1"]["model_calls"] == 1 and single["1"]["prompt_tokens"] > 0 and single["1"]["error"] is None
    for name in ("summary.json", "report.md", "report.png", "eval.json"):
        assert (out / name).stat().st_size > 0
    assert (out / "report.png").read_bytes()[:4] == b"\x89PNG"
    assert "| single | 2 | 50.0% |" in (out / "report.md").read_text()
    with RunStore(store) as runs:
        info = runs.run(single["1"]["run_id"])
        assert info["outcome"] == "correct" and info["outcome_score"] == 1.0 and info["outcome_source"] == "eval:number"
        assert info["question"] == "say 7" and info["model_calls"] == 1
        assert runs.outcome(single["2"]["run_id"]) == "incorrect"
    code, exported, _ = run_cli(capsys, "runs", "export", "--store", store, "--outcome", "correct")
    records = [json.loads(line) for line in exported.splitlines()]
    assert {r["run_id"] for r in records} >= {single["1"]["run_id"]} and all(r["score"] == 1.0 for r in records)


def test_eval_human_output_and_dry_run(capsys, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [{"question": "say 7", "answer": "7"}])
    code, stdout, err = run_cli(capsys, "eval", data, "-m", "scripted", "--out", tmp_path / "o", "--no-store")
    assert code == 0, err
    assert "| single | 1 | 100.0% |" in stdout and "report.png" in stdout
    code, stdout, _ = run_cli(
        capsys, "eval", data, "-m", "scripted", "-s", "single,react", "--tools", "calculator", "--dry-run"
    )
    specs = [json.loads(line) for line in stdout.splitlines()]
    assert [s["name"] for s in specs] == ["single", "react+calculator"] and specs[1]["spec"]["tools"] == ["calculator"]


def test_eval_with_spec_files(capsys, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [{"question": "say 7", "answer": "7"}])
    spec_file = tmp_path / "myrefine.json"
    code, stdout, _ = run_cli(capsys, "ask", "x", "-m", "scripted", "-s", "refine", "--dry-run", "--json")
    spec_file.write_text(stdout)
    code, stdout, err = run_cli(
        capsys, "eval", data, "-s", "single", "--spec", spec_file, "-m", "scripted", "--out", tmp_path / "o", "--json"
    )
    assert code == 0, err
    assert [s["name"] for s in json.loads(stdout)["specs"]] == ["single", "myrefine"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scorer", "nosuch"], "unknown scorer"),
        (["--tools", "calculator"], "--tools applies to none"),
        (["--question-field", "nope"], "has no field 'nope'"),
        (["--max-errors", "1.5"], "--max-errors"),
        (["--scorer", "choice"], "not an option letter"),
        (["-s", "nosuch"], "unknown strategy"),
        (["-s", "single,single"], "are the same spec"),
    ],
)
def test_eval_bad_input_is_one_line(capsys, tmp_path, args, message):
    data = write_jsonl(tmp_path / "d.jsonl", [{"question": "say 7", "answer": "7"}])
    code, _, err = run_cli(capsys, "eval", data, "-m", "scripted", "--out", tmp_path / "o", *args)
    assert code != 0
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_per_item_contexts_run_recursive(capsys, tmp_path):
    (tmp_path / "doc.txt").write_text("The secret code is 7.")
    rows = [
        {"question": "What is the code?", "answer": 42, "ctx": "The weather is fine. The secret code is 42."},
        {"question": "What is the code?", "answer": 7, "ctx": "@doc.txt"},
    ]
    data = write_jsonl(tmp_path / "c.jsonl", rows)
    store = tmp_path / "runs.db"
    code, stdout, err = run_cli(
        capsys,
        "eval",
        data,
        "-m",
        "scripted",
        "--context-field",
        "ctx",
        "--out",
        tmp_path / "o",
        "--store",
        store,
        "--json",
    )
    assert code == 0, err
    assert json.loads(stdout)["specs"][0]["name"] == "recursive"
    with RunStore(store) as runs:
        for row in rows_of(tmp_path / "o"):
            assert row["error"] is None and row["model_calls"] >= 1
            info = runs.run(row["run_id"])
            assert info["strategy"] == "recursive"
        spec = runs.spec_data(rows_of(tmp_path / "o")[1]["run_id"])
        assert spec is not None and spec["context"] == str((tmp_path / "doc.txt").resolve())


def test_generate_arithmetic_is_deterministic_and_exact(capsys, tmp_path):
    code, _, _ = run_cli(capsys, "generate", "arithmetic", "-n", "8", "--seed", "5", "-o", tmp_path / "a.jsonl")
    assert code == 0
    items = load_items(tmp_path / "a.jsonl", Fields(id="id"))
    assert len(items) == 8 and [i.question for i in items] == [p.question for p in arithmetic(8, 5)]
    first = arithmetic(1, 5)[0]
    a, b, c = (int(x) for x in re.findall(r"\d+", first.question))
    assert first.answer == a + b - c  # the first template: has a, buys b, gives c away


def test_a_torn_last_line_is_skipped_and_healed(capsys, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [{"question": "say 1", "answer": 1}, {"question": "say 2", "answer": 2}])
    out = tmp_path / "o"
    assert run_cli(capsys, "eval", data, "-m", "scripted", "--out", out, "--limit", "1", "--json")[0] == 0
    with (out / "results.jsonl").open("a") as stream:
        stream.write('{"item": "2", "spec": "single", "spec_ha')  # a kill mid-write
    code, stdout, _ = run_cli(capsys, "eval", data, "-m", "scripted", "--out", out, "--json")
    assert code == 0 and json.loads(stdout)["specs"][0]["n"] == 2
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[2])["item"] == "2"


def test_react_vs_single_benchmark_runs_on_eval(capsys, tmp_path):
    import importlib.util
    import sys

    path = BENCHMARKS / "react_vs_single.py"
    spec = importlib.util.spec_from_file_location("bench_react_vs_single", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    module.main(["--model", "scripted", "--arith", "3", "--gsm8k", "0", "--no-python", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "## arithmetic" in out and "| react+calculator | single | 3 |" in out
    rows = rows_of(tmp_path / "arithmetic")
    assert {r["spec"] for r in rows} == {"single", "react+calculator"} and len(rows) == 6


def test_cache_is_shared_by_the_arms_through_the_evaluation_store(capsys, tmp_path):
    """``--cache`` is accepted (each item's own spec records nothing) and its completions live in the
    evaluation's store, where a later arm repeating an earlier arm's call reads it instead of calling."""
    from ponder.eval.arms import arms_from_flags as arms_of
    from ponder.eval.execute import Task, run_item
    from ponder.run_models import ModelCache
    from ponder.spec import ModelSpec

    store = tmp_path / "runs.db"
    data = write_jsonl(tmp_path / "d.jsonl", [{"question": "say 7", "answer": "7"}])
    code, _, err = run_cli(
        capsys, "eval", data, "-m", "scripted", "-s", "single,refine", "--cache", "--store", store,
        "--out", tmp_path / "o", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert all(r["error"] is None for r in rows_of(tmp_path / "o"))
    code, _, err = run_cli(capsys, "eval", data, "-m", "scripted", "--cache", "--no-store", "--out", tmp_path / "p")
    assert code != 0 and "--cache" in err and "Traceback" not in err

    models = ModelCache()
    echo = models.get(ModelSpec("scripted"))
    echo.cacheable = True  # the echo fake's reply follows from its prompt
    item = Item("1", "say 7", "7").to_dict()
    single, refine = arms_of(
        ["single", "refine"], [], {"model_spec": "scripted", "cache": True}, {"model_spec", "cache"}
    )
    rows = {}
    for shared in (None, str(store)):
        for arm in (single, refine):
            task = Task(arm.name, arm.for_item(Item.from_dict(item)).to_json(), arm.hash, item, "number", shared)
            rows[arm.name, shared] = run_item(task, models).row
    calls = {key: row["model_calls"] for key, row in rows.items()}
    assert calls["single", None] == calls["single", str(store)] == 1 and calls["refine", None] >= 2
    # refine's first draft is single's answer, read from the evaluation's store
    assert calls["refine", str(store)] == calls["refine", None] - 1
    # ... and the row says so: one call another arm made, with the tokens single paid for it
    first = rows["single", str(store)]
    assert (first["shared_calls"], first["shared_tokens"]) == (0, 0)
    assert rows["refine", str(store)]["shared_calls"] == 1
    assert rows["refine", str(store)]["shared_tokens"] == first["prompt_tokens"] + first["completion_tokens"] > 0
    assert rows["refine", None]["shared_calls"] == 0
    assert rows["refine", str(store)]["answer"] == rows["refine", None]["answer"]
    import sqlite3

    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*) FROM completions").fetchone()[0] == 1 + calls["refine", str(store)]
