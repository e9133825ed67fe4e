"""Strategies that take strategies: sampling overrides, shared budgets, get_strategy, and the CLI flags."""

from __future__ import annotations

import json

import pytest

from ponder import (
    Budget,
    Child,
    ConfigError,
    Engine,
    GenerationOptions,
    Outcome,
    ScriptedModel,
    StrategyNotFoundError,
)
from ponder.cli import main
from ponder.requests import Generate
from ponder.spec import RunSpec, get_strategy, spec_from_flags
from ponder.strategies import (
    Consistency,
    React,
    Refine,
    Route,
    Single,
    Verify,
    close_strategy,
    entries,
)
from ponder.tools import calculator_tool
from ponder.types import user
from ponder.verifiers import CodeCheck, contains

# -- sampling overrides in the engine ---------------------------------------------------


class Asker:
    """One model call per entry of ``plan``: (temperature, seed) overrides, then a child run if ``child``."""

    name = "asker"

    def __init__(self, plan, child=None):
        self.plan = plan
        self.child = child

    def run(self, question):
        for temperature, seed in self.plan:
            yield Generate.of([user(question)], temperature=temperature, seed=seed, data={"tag": question})
        if self.child is not None:
            strategy, temperature, seed = self.child
            yield Child(strategy, question + "+", temperature, seed)
        return Outcome("done")


def test_generate_overrides_only_temperature_and_seed():
    model = ScriptedModel(lambda m: "x")
    options = GenerationOptions(temperature=0.0, max_tokens=33, seed=5, stop=("END",))
    result = Engine(model, options=options).run(Asker([(0.8, 7), (None, None)]), "q")
    first, second = (c.options for c in model.calls)
    assert (first.temperature, first.seed, first.max_tokens, first.stop) == (0.8, 7, 33, ("END",))
    assert second == options
    assert [s.data for s in result.steps] == [{"tag": "q"}, {"tag": "q"}]


def test_child_overrides_reach_every_call_of_the_child_and_its_children():
    grandchild = Asker([(None, None)])
    child = Asker([(None, None), (0.1, None)], child=(grandchild, None, None))
    model = ScriptedModel(lambda m: "x", supports_concurrency=False)
    Engine(model).run(Asker([], child=(child, 0.9, 3)), "q")
    seen = [(c.options.temperature, c.options.seed) for c in model.calls]
    # the child's own calls: seed 3, temperature 0.9 unless the call overrides it; the grandchild inherits
    assert seen == [(0.9, 3), (0.1, 3), (0.9, 3)]


def test_seeds_inside_a_seeded_child_are_mixed_so_nested_samplers_differ():
    inner = Consistency(samples=2, adaptive=False)
    outer = Consistency(inner=inner, samples=2, adaptive=False)
    model = ScriptedModel(lambda m: "42", supports_concurrency=False)
    Engine(model, budget=Budget(max_steps=None)).run(outer, "q")
    seeds = [c.options.seed for c in model.calls]
    assert len(seeds) == 4
    assert len(set(seeds)) == 4  # outer samples 0 and 1 each run inner samples 0 and 1: all distinct


def test_an_invalid_override_is_a_config_error():
    with pytest.raises(ConfigError, match="temperature"):
        Engine(ScriptedModel(["x"])).run(Asker([(-1.0, None)]), "q")


# -- composition -----------------------------------------------------------------------


def react_replies(answers):
    """Scripted text-protocol replies: per sample one calculator action, then the final answer."""
    out = []
    for answer in answers:
        out += ["Action: calculator\nAction Input: 6*7", f"Final Answer: {answer}"]
    return out


def test_consistency_over_react_votes_over_child_runs_with_distinct_seeds():
    model = ScriptedModel(react_replies(["42", "41", "42"]), supports_concurrency=False)
    strategy = Consistency(inner=React(tools=[calculator_tool()], constrained=False), samples=3)
    result = Engine(model, budget=Budget(max_steps=20)).run(strategy, "What is 6 times 7?")
    assert result.answer == "42"
    assert result.stop_reason == "answered"
    seeds = [c.options.seed for c in model.calls]
    assert seeds == [0, 0, 1, 1, 2, 2]
    assert {c.options.temperature for c in model.calls} == {0.7}
    tool_steps = [s for s in result.steps if s.kind == "tool"]
    assert len(tool_steps) == 3 and all(s.depth == 1 for s in tool_steps)
    runs = {s.run_id for s in result.steps if s.depth == 1}
    assert len(runs) == 3  # one child run per sample
    votes = [s for s in result.steps if s.kind == "vote"]
    assert [v.data["votes"][0]["sample"] for v in votes] == [0, 1, 2]
    assert votes[-1].data["counts"] == {"42": 2, "41": 1}


def test_verify_around_consistency():
    model = ScriptedModel(["7", "7", "8", "8", "8"], supports_concurrency=False)
    strategy = Verify(inner=Consistency(samples=2, adaptive=False), verifier=contains("8"))
    result = Engine(model, budget=Budget(max_steps=20)).run(strategy, "q")
    assert result.answer == "8"
    assert [s.data["ok"] for s in result.steps if s.kind == "verdict"] == [False, True]


@pytest.mark.skipif("tree" not in entries(), reason="tree is not registered")
def test_verify_around_tree_is_built_by_name():
    strategy = get_strategy("verify", inner="tree", verifier="contains:24", beam=2, depth=2)
    assert strategy.inner.name == "tree"
    assert (strategy.inner.beam, strategy.inner.depth) == (2, 2)


def test_any_strategy_as_the_slow_path():
    replies = ["Lyon", "Paris draft", "NO ISSUES"]
    model = ScriptedModel(replies, supports_concurrency=False)
    route = Route(slow=Refine(), check=contains("Paris"))
    result = Engine(model, budget=Budget(max_steps=20)).run(route, "Capital of France?")
    assert result.answer == "Paris draft"
    assert result.stop_reason == "converged"
    assert [s.kind for s in result.steps] == ["answer", "route", "draft", "critique", "check"]


# -- budgets are shared: a child that exhausts the budget stops the whole run -----------------


def distinct(n=100):
    return [f"{i} " + "word " * i for i in range(1, n)]


def test_a_child_exhausting_the_step_budget_stops_consistency():
    model = ScriptedModel(distinct(), supports_concurrency=False)
    strategy = Consistency(inner=Refine(), samples=5)
    result = Engine(model, budget=Budget(max_steps=5)).run(strategy, "q")
    assert len(model.calls) == 5  # all in the first child: draft, critique, revision, critique, revision
    assert result.stop_reason == "max_steps"
    assert result.answer is not None  # the first child's latest draft, voted on
    assert "step limit of 5 reached" in result.detail
    assert len({s.run_id for s in result.steps if s.depth == 1}) == 1  # no second child was started


def test_a_child_exhausting_the_call_budget_stops_verify():
    model = ScriptedModel(["Action: calculator\nAction Input: 1+1"] * 10, supports_concurrency=False)
    strategy = Verify(
        inner=React(tools=[calculator_tool()], constrained=False, loop_threshold=99), verifier=contains("x")
    )
    result = Engine(model, budget=Budget(max_steps=None, max_model_calls=3)).run(strategy, "q")
    assert len(model.calls) == 3
    assert result.stop_reason == "budget"
    assert "model call limit of 3 reached" in result.detail


def test_a_slow_path_exhausting_the_budget_ends_route_with_its_stop_reason():
    model = ScriptedModel(["Lyon", *distinct()], supports_concurrency=False)
    result = Engine(model, budget=Budget(max_steps=4)).run(Route(slow=Refine(), check=contains("Paris")), "q")
    assert len(model.calls) == 4
    assert result.stop_reason == "max_steps"
    assert result.answer == distinct()[2].strip()  # refine's latest revision


# -- get_strategy: names, options and tools for nested strategies ---------------------------


def test_get_strategy_routes_options_to_the_strategy_that_takes_them():
    strategy = get_strategy("route", slow="consistency", inner="react", tools=[calculator_tool()], samples=4)
    assert isinstance(strategy, Route)
    assert isinstance(strategy.slow, Consistency)
    assert strategy.slow.samples == 4
    assert isinstance(strategy.slow.inner, React)
    assert isinstance(strategy.fast, Single)
    strategy = get_strategy("verify", inner="consistency", max_rounds=2, verifier="contains:x", extract="answer")
    assert strategy.max_rounds == 2 and strategy.inner.extract == "answer"


def test_get_strategy_rejects_options_and_tools_nobody_takes():
    with pytest.raises(ConfigError, match="takes no option samples"):
        get_strategy("verify", samples=3)
    with pytest.raises(ConfigError, match="takes no tools"):
        get_strategy("consistency", tools=[calculator_tool()])
    with pytest.raises(StrategyNotFoundError, match="unknown strategy 'nosuch'"):
        get_strategy("consistency", inner="nosuch")


def test_close_strategy_closes_nested_verifiers():
    closed = []

    class Sandbox:
        def run(self, code):  # pragma: no cover
            raise AssertionError

        def close(self):
            closed.append(True)

    from ponder.tools import python_tool

    check = CodeCheck(python_tool(Sandbox(), owns_sandbox=True))
    close_strategy(Route(slow=Verify(verifier=check)))
    assert closed == [True]


def tree(strategy: str, **flags) -> dict:
    """The strategy tree ``ponder ask --strategy STRATEGY`` + ``flags`` (by parameter name) describes."""
    return spec_from_flags({"strategy": strategy, **flags}, {"strategy", *flags}).strategy.to_dict()


def test_cli_flags_map_to_options():
    assert tree("consistency", samples=3, sample_temperature=0.5, no_adaptive=True) == {
        "strategy": "consistency",
        "samples": 3,
        "temperature": 0.5,
        "adaptive": False,
    }
    assert tree("consistency", anchor=True) == {"strategy": "consistency", "anchor": True}
    assert tree("route", verifier="judge") == {
        "strategy": "route",
        "verifier": "judge",
        "fast": {"strategy": "single"},
        "slow": {"strategy": "consistency"},
    }
    assert tree("verify", verifier="judge", rounds=2) == {"strategy": "verify", "max_rounds": 2, "verifier": "judge"}
    assert tree("consistency", inner="react", seed=4, tool_spec="calculator") == {
        "strategy": "consistency",
        "seed": 4,
        "inner": {"strategy": "react"},
    }
    if "tree" in entries():
        assert tree("tree", beam=2, search="dfs", prune=0.3) == {
            "strategy": "tree",
            "beam": 2,
            "search": "dfs",
            "prune": 0.3,
        }
    with pytest.raises(ConfigError, match="--samples does not apply to verify"):
        tree("verify", samples=3)
    with pytest.raises(ConfigError, match="--beam does not apply to consistency"):
        tree("consistency", beam=3)


def test_strategies_own_their_default_step_budget():
    def steps(strategy: dict) -> int:
        return RunSpec.from_dict(
            {"strategy": strategy, "tools": ["calculator"] if "inner" in strategy else []}
        ).default_steps()

    assert steps({"strategy": "single"}) == 8
    assert steps({"strategy": "consistency", "samples": 10}) == 10
    assert steps({"strategy": "consistency", "inner": {"strategy": "react"}, "samples": 3}) == 24
    assert steps({"strategy": "route"}) == 9


# -- the CLI ---------------------------------------------------------------------------------


def cli(capsys, *args):
    code = main(["ask", *args, "-m", "scripted", "--no-store"])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_consistency_json_shows_samples_and_votes(capsys):
    code, out, err = cli(capsys, "What is 2+3?", "-s", "consistency", "--samples", "10", "--no-adaptive", "--json")
    assert code == 0, err
    data = json.loads(out)
    samples = [s for s in data["steps"] if s["kind"] == "sample"]
    assert [s["data"]["sample"] for s in samples] == list(range(10))  # more than the default 8 steps
    assert {s["data"]["temperature"] for s in samples} == {0.7}
    vote = [s for s in data["steps"] if s["kind"] == "vote"][-1]
    assert vote["data"]["counts"] == {"3": 10}
    assert vote["data"]["confidence"] == 1.0


def test_cli_anchor_draws_the_first_sample_greedily(capsys):
    code, out, err = cli(capsys, "What is 2+3?", "-s", "consistency", "--samples", "3", "--anchor", "--json")
    assert code == 0, err
    samples = [s for s in json.loads(out)["steps"] if s["kind"] == "sample"]
    assert [s["data"]["temperature"] for s in samples][:2] == [0.0, 0.7]
    code, _, err = cli(capsys, "What is 2+3?", "-s", "verify", "--anchor")
    assert code != 0 and "--anchor does not apply to verify" in err


def test_cli_consistency_over_react(capsys):
    code, out, err = cli(
        capsys, "q 6", "-s", "consistency", "--inner", "react", "--tools", "calculator", "--samples", "2", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert {s["depth"] for s in data["steps"] if s["kind"] == "format_error"} == {1}
    assert len({s["run_id"] for s in data["steps"] if s["depth"] == 1}) == 2


def test_cli_verify_and_route(capsys):
    code, out, err = cli(capsys, "q", "-s", "verify", "--verifier", "contains:echo", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["stop_reason"] == "answered"
    assert [s["kind"] for s in data["steps"]] == ["draft", "verdict"]
    code, out, err = cli(capsys, "q 1", "-s", "route", "--verifier", "contains:nomatch", "--samples", "3", "--json")
    assert code == 0, err
    data = json.loads(out)
    route = next(s for s in data["steps"] if s["kind"] == "route")
    assert route["data"]["path"] == "slow"
    assert route["data"]["slow"] == "consistency"
    assert data["strategy"] == "route"
    code, out, err = cli(capsys, "q", "-s", "route", "--escalate-to", "refine", "--verifier", "contains:echo", "--json")
    assert code == 0, err
    assert [s["data"]["path"] for s in json.loads(out)["steps"] if s["kind"] == "route"] == ["fast"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["-s", "verify", "--samples", "3"], "--samples does not apply to verify"),
        (["-s", "consistency", "--inner", "nosuch"], "unknown strategy 'nosuch'"),
        (["-s", "consistency", "--inner", "react"], "needs --tools"),
        (["-s", "verify", "--verifier", "bogus"], "unknown verifier 'bogus'"),
        (["-s", "consistency", "--extract", "first"], "unknown extraction 'first'"),
        (["-s", "single", "--escalate-to", "refine"], "--escalate-to does not apply to single"),
    ],
)
def test_cli_bad_flags_give_one_line(capsys, args, needle):
    code, _out, err = cli(capsys, "q", *args)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert needle in lines[0]


def test_the_prompt_flag_of_a_route_is_the_routes():
    assert tree("route", prompt="answer/cot") == {
        "strategy": "route",
        "prompt": "answer/cot",
        "fast": {"strategy": "single"},
        "slow": {"strategy": "consistency"},
    }
    route = get_strategy("route", prompt="answer/cot")
    assert (route.fast.prompt, route.slow.prompt, route.check.prompt) == ("answer/cot",) * 3
