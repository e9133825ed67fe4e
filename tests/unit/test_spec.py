"""A run is data: RunSpec validation and round-trips, --dry-run / --spec, resume of Python API runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ponder
from faults import fail_from
from ponder import Budget, ConfigError, Engine, RunSpec, RunStore, StrategyNotFoundError, load_model, strategies
from ponder.cli import main
from ponder.errors import ModelCallError
from ponder.spec import StrategySpec, describe_strategy
from ponder.tools import calculator_tool

NESTED = {
    "strategy": "route",
    "slow": {"strategy": "consistency", "samples": 8, "inner": {"strategy": "react"}},
}


def test_a_nested_spec_round_trips_through_json():
    spec = RunSpec.from_dict(
        {
            "question": "What is 17 * 23?",
            "strategy": NESTED,
            "models": {"root": "smollm2", "fast": {"model": "openai:small", "base_url": "http://127.0.0.1:1/v1"}},
            "tools": "calculator",
            "budget": {"max_model_calls": 40},
            "options": {"temperature": 0.2, "stop": ["\n\n"]},
        }
    )
    assert spec.strategy.names() == ["route", "single", "consistency", "react"]
    again = RunSpec.from_json(spec.to_json())
    assert again == spec
    assert again.to_dict()["strategy"]["slow"]["inner"] == {"strategy": "react"}
    assert again.model("fast").model == "openai:small" and again.model("judge").model == "smollm2"
    assert again.options.stop == ("\n\n",) and again.budget.max_steps == "auto"
    assert json.loads(spec.to_json())["version"] == ponder.spec.SPEC_VERSION


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"strategy": {"strategy": "verify", "samples": 3}}, "strategy 'verify' takes no option 'samples'"),
        ({"strategy": {"strategy": "consistency", "samples": "many"}}, "consistency: samples must be a whole number"),
        ({"strategy": {"strategy": "consistency", "samples": 0}}, "consistency: samples must be >= 1"),
        ({"strategy": {"strategy": "tree", "search": "sideways"}}, "tree: search must be one of bfs, dfs"),
        ({"strategy": {"strategy": "consistency", "inner": "react"}}, "needs --tools"),
        ({"strategy": "single", "tools": ["calculator"]}, "--tools needs a strategy that uses tools"),
        ({"strategy": "refine", "context": "README.md"}, "--context works with --strategy recursive, not refine"),
        ({"strategy": {"strategy": "recursive", "aggregate": "count"}}, "--aggregate needs --context"),
        ({"strategy": "single", "stop": "learned:x.json"}, "does not apply to single"),
        ({"strategy": "single", "memory": {"mode": "notes"}}, "--memory does not apply to single"),
        ({"models": {"boss": "smollm2"}}, "unknown model role boss"),
        ({"budget": {"max_steps": -1}}, "max_steps must be a positive number"),
        ({"budget": {"steps": 3}}, "budget has no field steps"),
        ({"version": 99}, "this ponder reads up to"),
        ({"colour": "blue"}, "a run spec has no field colour"),
        ({"strategy": 3}, "a strategy must be a name or an object"),
    ],
)
def test_a_bad_spec_is_one_clear_error(data, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("*", r"\*")):
        RunSpec.from_dict(data)


def test_an_unknown_strategy_in_a_spec_names_the_known_ones():
    with pytest.raises(StrategyNotFoundError, match=r"unknown strategy 'nosuch' \(known: .*consistency"):
        RunSpec.from_dict({"strategy": {"strategy": "route", "slow": "nosuch"}})


def test_a_context_implies_recursive_and_is_stored_absolute(tmp_path, monkeypatch):
    (tmp_path / "notes.txt").write_text("The code is 7.")
    monkeypatch.chdir(tmp_path)
    spec = RunSpec.from_dict({"context": "notes.txt"})
    assert spec.strategy.name == "recursive" and spec.context == str(tmp_path / "notes.txt")


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_dry_run_prints_the_nested_spec_and_runs_nothing(capsys, tmp_path):
    db = tmp_path / "runs.db"
    args = ["ask", "What is 17 * 23?", "--strategy", "route", "--escalate-to", "consistency", "--samples", "3"]
    code, out, _ = cli(capsys, *args, "--dry-run", "--json", "--store", str(db))
    assert code == 0
    spec = json.loads(out)
    assert spec["strategy"] == {
        "strategy": "route",
        "fast": {"strategy": "single"},
        "slow": {"strategy": "consistency", "samples": 3},
    }
    assert spec["question"] == "What is 17 * 23?" and spec["models"] == {"root": {"model": "smollm2"}}
    assert not db.exists()  # nothing ran, nothing was stored


def _comparable(result: dict) -> dict:
    """A --json result without what differs between two runs (ids, times)."""
    drop = {"run_id", "seconds"}
    steps = [{k: v for k, v in s.items() if k not in drop} for s in result["steps"]]
    return {**{k: v for k, v in result.items() if k not in drop}, "steps": steps}


def test_a_spec_file_gives_the_same_result_as_the_flags(capsys, tmp_path):
    flags = ["What is 17 * 23?", "-m", "scripted", "--strategy", "route", "--escalate-to", "consistency"]
    flags += ["--samples", "3", "--verifier", "agree:2:0.9", "--no-store"]
    code, out, _ = cli(capsys, "ask", *flags, "--dry-run", "--json")
    assert code == 0
    path = tmp_path / "spec.json"
    path.write_text(out)
    code, direct, _ = cli(capsys, "ask", *flags, "--json")
    assert code == 0
    code, from_file, _ = cli(capsys, "ask", "--spec", str(path), "--json")
    assert code == 0
    assert _comparable(json.loads(from_file)) == _comparable(json.loads(direct))
    # flags beside --spec override its fields; the rest stays
    code, out, _ = cli(capsys, "ask", "--spec", str(path), "--samples", "5", "--max-calls", "9", "--dry-run", "--json")
    changed = json.loads(out)
    assert changed["strategy"]["slow"]["samples"] == 5 and changed["budget"]["max_model_calls"] == 9
    assert changed["strategy"]["verifier"] == "agree:2:0.9" and changed["question"] == "What is 17 * 23?"


def test_a_bad_spec_file_is_one_line(capsys, tmp_path):
    path = tmp_path / "spec.json"
    path.write_text('{"strategy": {"strategy": "verify", "samples": 3}}')
    code, _, err = cli(capsys, "ask", "q", "--spec", str(path))
    assert code != 0 and len(err.strip().splitlines()) == 1
    assert err.startswith(
        "ponder: error: strategy 'verify' takes no option 'samples' (it takes: max_rounds, revise, fresh_temperature, inner"
    )
    path.write_text("{not json")
    code, _, err = cli(capsys, "ask", "q", "--spec", str(path))
    assert code != 0 and "not valid JSON" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli(capsys, "ask", "q", "--spec", str(tmp_path / "missing.json"))
    assert code != 0 and "cannot read the spec file" in err


def test_ponder_run_takes_a_spec_and_stores_it(tmp_path):
    db = tmp_path / "runs.db"
    result = ponder.run({"strategy": "refine", "models": {"root": "scripted"}, "store": str(db)}, "Why?")
    assert result.stop_reason == "converged"
    stored = RunStore(db).spec_data(result.run_id)
    assert stored is not None and stored["strategy"] == {"strategy": "refine"} and stored["question"] == "Why?"


def test_a_python_api_run_stores_its_spec_and_resumes_from_the_cli(capsys, tmp_path):
    db = tmp_path / "runs.db"
    store = RunStore(db)
    model = fail_from(load_model("scripted"), 3)
    engine = Engine(model, budget=Budget(max_steps=6), sinks=[store.sink()])
    with pytest.raises(ModelCallError):
        engine.run(strategies.Refine(same_ratio=0.9), "Why is the sky blue?")
    [row] = store.list_runs()
    assert row["status"] == "error"
    stored = store.spec_data(row["run_id"])
    assert stored is not None and stored["strategy"] == {"strategy": "refine", "same_ratio": 0.9}
    assert stored["models"] == {"root": {"model": "scripted"}} and stored["budget"]["max_steps"] == 6
    store.close()
    code, out, err = cli(capsys, "resume", row["run_id"], "--store", str(db), "--json")
    assert code == 0, err
    resumed = json.loads(out)
    assert resumed["resumed"]["replayed_calls"] == 2 and resumed["stop_reason"] in ("converged", "max_steps")


def test_a_run_that_cannot_be_described_is_stored_without_a_spec(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    result = Engine(ponder.ScriptedModel(["Paris"]), sinks=[store.sink()]).run(strategies.Single(), "Capital?")
    assert store.spec_data(result.run_id) is None  # a list of scripted replies cannot be loaded again
    assert describe_strategy(strategies.Verify(verifier=ponder.Check(lambda q, a: True))) is None
    react = strategies.React(tools=[calculator_tool()], native=True)
    assert describe_strategy(react) == StrategySpec.parse({"strategy": "react", "protocol": "native"})


def test_get_strategy_places_each_option_on_the_outermost_strategy_that_declares_it():
    strategy = ponder.get_strategy("route", slow="consistency", inner="react", tools=[calculator_tool()], samples=4)
    assert strategy.slow.samples == 4 and isinstance(strategy.slow.inner, strategies.React)  # type: ignore[attr-defined]
    assert StrategySpec.parse(NESTED).place("samples", 2) is not None
    assert StrategySpec.parse("single").place("samples", 2) is None


def test_every_declared_option_is_a_field_of_its_strategy():
    import dataclasses

    for entry in strategies.entries().values():
        names = {f.name for f in dataclasses.fields(entry.factory)}  # type: ignore[arg-type]
        prepared = {"protocol"} if entry.prepare is not None and entry.name == "react" else set()
        for option in entry.options:
            assert option.name in names | prepared, (entry.name, option.name)
        for slot in entry.slots:
            assert slot.name in names, (entry.name, slot.name)
        if entry.verifier_field is not None:
            assert entry.verifier_field in names


def test_spec_path_beside_the_working_directory_is_kept(tmp_path: Path):
    spec = RunSpec.from_dict({"trace": str(tmp_path / "t.jsonl"), "record": False, "models": {"root": "scripted"}})
    ponder.run(spec, "hello")
    first = json.loads((tmp_path / "t.jsonl").read_text().splitlines()[1])
    assert first["type"] == "run_started" and first["spec"]["question"] == "hello"


def test_slots_are_placed_top_down_so_a_placed_strategy_brings_its_own_slots():
    from ponder.spec import spec_from_flags

    flags = {"strategy": "route", "escalate_to": "verify", "inner": "react", "tool_spec": "calculator"}
    tree = spec_from_flags(flags, set(flags)).strategy.to_dict()
    assert tree["slow"] == {"strategy": "verify", "inner": {"strategy": "react"}}
    strategy = ponder.get_strategy("route", inner="react", slow="verify", tools=[calculator_tool()])
    assert isinstance(strategy.slow.inner, strategies.React)  # type: ignore[attr-defined]


def test_flags_given_with_their_default_change_nothing_where_no_strategy_takes_them():
    from ponder.spec import spec_from_flags

    flags = {"strategy": "single", "tool_protocol": "auto", "mode": "auto", "aggregate": "auto"}
    assert spec_from_flags(flags, set(flags)).strategy.to_dict() == {"strategy": "single"}
    with pytest.raises(ConfigError, match="--mode needs --context"):
        spec_from_flags({"strategy": "single", "mode": "plan"}, {"strategy", "mode"})


def test_an_agreement_check_shares_the_extractor_in_flags_and_old_recipes():
    from ponder.spec import spec_from_flags
    from ponder.spec.legacy import spec_from_stored

    flags = {"strategy": "route", "verifier": "AGREE:3", "extract": "lm", "escalate_to": "single"}
    tree = spec_from_flags(flags, set(flags)).strategy.to_dict()
    assert tree["verifier"] == {"spec": "AGREE:3", "extract": "lm"}
    recipe = {
        "strategy": "route",
        "model": "scripted",
        "strategy_options": {"check": "agree:3", "extract": "lm", "slow": "consistency"},
    }
    old = spec_from_stored(recipe).strategy.to_dict()
    assert old["verifier"] == {"spec": "agree:3", "extract": "lm"} and old["slow"]["extract"] == "lm"
    assert RunSpec.from_dict({"strategy": tree}).default_steps() == 1 + 3 + 4 + 1


def test_a_python_api_run_that_changes_a_non_option_field_is_not_described():
    from ponder import Memory

    assert describe_strategy(strategies.Refine(system_prompt="Be terse.")) is None
    nested = strategies.Consistency(inner=strategies.React(tools=[calculator_tool()], memory=Memory(window=64)))
    assert describe_strategy(nested) is None
    react = strategies.React(tools=[calculator_tool()], memory=Memory(window=64, keep_last=1, mode="notes"))
    spec = ponder.spec.describe_run(react, load_model("scripted"), {}, Budget(), ponder.GenerationOptions(), "q")
    assert spec is None  # a memory window the spec would not rebuild


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"max_parallel_calls": "8"}, "max_parallel_calls must be int"),
        ({"max_concurrency": "8"}, "max_parallel_calls must be int"),
        ({"max_concurrency": 2, "max_parallel_calls": 2}, "both max_concurrency and max_parallel_calls"),
        ({"version": "1"}, "version must be int"),
        ({"record": "no"}, "record must be bool"),
        ({"question": 5}, "question must be str"),
        ({"tools": [1]}, "tools must be a list"),
        ({"budget": {"max_steps": True}}, "budget.max_steps must be a number"),
        ({"options": {"stop": 5}}, "options.stop must be a string"),
    ],
)
def test_wrong_json_types_in_a_spec_are_one_clear_error(data, message):
    with pytest.raises(ConfigError, match=message):
        RunSpec.from_dict(data)
    assert RunSpec.from_dict({"options": {"stop": "END"}}).options.stop == ("END",)


def test_a_spec_field_is_read_under_its_old_name(capsys, tmp_path: Path) -> None:
    # specs written before max_concurrency was renamed max_parallel_calls still load, through the CLI too
    old = RunSpec.from_dict({"max_concurrency": 3})
    assert old.max_parallel_calls == 3 and old == RunSpec.from_dict({"max_parallel_calls": 3})
    assert "max_concurrency" not in old.to_dict() and RunSpec.from_json(old.to_json()) == old
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"question": "q", "models": {"root": "scripted"}, "max_concurrency": 2}))
    code, out, _ = cli(capsys, "ask", "--spec", str(path), "--no-store", "--dry-run", "--json")
    assert code == 0 and json.loads(out)["max_parallel_calls"] == 2
