"""The tree strategy's search logic, with scripted models (no real model)."""

from __future__ import annotations

import json
import re

import pytest

from ponder import Budget, Engine, ScriptedModel, get_strategy
from ponder.errors import ConfigError
from ponder.strategies import Tree
from ponder.tasks import Game24, check_expression, solve


def chain_of(messages) -> tuple[str, ...]:
    """The reasoning steps shown in a generic-task prompt."""
    text = messages[-1].content
    found = re.search(r"(?:Steps so far|Reasoning steps):\n(.*?)\n\n", text, re.DOTALL)
    if found is None or found.group(1) == "(none yet)":
        return ()
    return tuple(re.sub(r"^\d+\. ", "", line) for line in found.group(1).splitlines())


def generic_model(proposals: dict[tuple[str, ...], list[str]], values: dict[str, str], answer: str = "the answer"):
    """Proposes ``proposals[steps]``, values a chain by its last step, answers with ``answer``."""

    def reply(messages) -> str:
        text = messages[-1].content
        steps = chain_of(messages)
        if "Write up to" in text:
            return "\n".join(proposals.get(steps, []))
        if "Reply sure, likely or impossible" in text:
            return values.get(steps[-1], "likely")
        if "give the final answer" in text:
            return f"{answer} (from {' / '.join(steps)})"
        raise AssertionError(f"unexpected prompt: {text}")

    return ScriptedModel(reply)


def run(model, budget=None, question="Why is the sky blue?", **options):
    strategy = options.pop("strategy", None) or Tree(**options)
    return Engine(model, budget=budget or Budget(max_steps=200)).run(strategy, question)


def nodes(result) -> dict[int, dict]:
    """The last record of each node (its final status), by node id."""
    out: dict[int, dict] = {}
    for step in result.steps:
        if step.kind == "node":
            out[step.data["node"]] = {**step.data, "text": step.text}
    return dict(sorted(out.items()))


def by_text(result) -> dict[str, dict]:
    return {n["text"]: n for n in nodes(result).values()}


def model_kinds(result) -> list[str]:
    return [s.kind for s in result.steps if s.usage is not None]


# -- BFS -----------------------------------------------------------------------


def test_beam_keeps_the_top_b_by_value():
    model = generic_model(
        {(): ["A", "B", "C", "D"]},
        {"A": "impossible", "B": "likely", "C": "sure", "D": "sure"},
    )
    result = run(model, task="generic", beam=2, depth=1)
    tree = by_text(result)
    assert [tree[t]["status"] for t in "ABCD"] == ["pruned", "pruned", "kept", "kept"]
    assert [tree[t]["value"] for t in "ABCD"] == [0.0, 0.5, 1.0, 1.0]
    assert tree["B"]["reason"] == "outside the beam of 2"
    # the tie between C and D goes to the earlier node: C answers
    assert result.answer == "the answer (from C)"
    assert result.stop_reason == "answered"
    assert model_kinds(result) == ["propose", "value", "value", "value", "value", "answer"]


def test_beam_ties_are_broken_by_creation_order():
    model = generic_model({(): ["A", "B", "C"]}, {})  # every value "likely"
    result = run(model, task="generic", beam=2, depth=1)
    tree = by_text(result)
    assert [tree[t]["status"] for t in "ABC"] == ["kept", "kept", "pruned"]
    assert result.answer == "the answer (from A)"


def test_bfs_expands_only_the_beam_and_stops_at_the_depth_limit():
    model = generic_model(
        {(): ["A", "B", "C"], ("A",): ["A1", "A2"], ("C",): ["C1"], ("A", "A1"): ["never"]},
        {"A": "sure", "B": "impossible", "C": "likely", "A2": "sure", "A1": "likely", "C1": "impossible"},
    )
    result = run(model, task="generic", beam=2, depth=2)
    proposes = [c for c in model.calls if "Write up to" in c.messages[-1].content]
    assert [chain_of(c.messages) for c in proposes] == [(), ("A",), ("C",)]
    tree = by_text(result)
    assert "never" not in tree
    assert tree["A"]["status"] == tree["C"]["status"] == "expanded"
    assert tree["B"]["status"] == "pruned"
    assert result.answer == "the answer (from A / A2)"


def test_prune_threshold_drops_states_even_inside_the_beam():
    model = generic_model({(): ["A", "B"]}, {"A": "likely", "B": "impossible"})
    result = run(model, task="generic", beam=5, depth=1, prune=0.4)
    tree = by_text(result)
    assert tree["B"]["status"] == "pruned"
    assert tree["B"]["reason"] == "value 0 below 0.4"
    assert tree["A"]["status"] == "kept"


def test_an_answer_step_ends_its_chain_without_another_call():
    model = generic_model({(): ["Answer: 42", "Think more"]}, {"Answer: 42": "sure", "Think more": "likely"})
    result = run(model, task="generic", beam=2, depth=3)
    assert result.answer == "42"
    proposes = [c for c in model.calls if "Write up to" in c.messages[-1].content]
    assert [chain_of(c.messages) for c in proposes] == [(), ("Think more",)]
    assert "answer" not in model_kinds(result)


def test_identical_thoughts_are_deduplicated_and_values_cached():
    model = generic_model({(): ["A", "1. A", "B"]}, {"A": "sure", "B": "likely"})
    result = run(model, task="generic", beam=5, depth=1)
    records = nodes(result)
    assert [n["status"] for n in records.values() if n["text"] == "A"] == ["kept", "pruned"]
    assert records[2]["reason"] == "same state as node 1"
    assert model_kinds(result).count("value") == 2


# -- DFS -----------------------------------------------------------------------


def test_dfs_backtracks_from_a_pruned_branch():
    model = generic_model(
        {(): ["A", "B"], ("A",): ["A1", "A2"], ("B",): ["B1"]},
        {"A": "sure", "B": "likely", "A1": "impossible", "A2": "impossible", "B1": "sure"},
    )
    result = run(model, task="generic", search="dfs", depth=2, prune=0.5)
    tree = by_text(result)
    assert tree["A1"]["status"] == tree["A2"]["status"] == "pruned"
    assert tree["B"]["status"] == "expanded"
    assert tree["B1"]["status"] == "kept"
    backtracks = [s for s in result.steps if s.kind == "backtrack"]
    assert [s.data for s in backtracks] == [{"node": 0, "from": tree["A"]["node"]}]
    assert result.answer == "the answer (from B / B1)"
    # A (best first) was expanded before B
    proposes = [chain_of(c.messages) for c in model.calls if "Write up to" in c.messages[-1].content]
    assert proposes == [(), ("A",), ("B",)]


def test_dfs_without_threshold_follows_the_best_path_first():
    model = generic_model(
        {(): ["A", "B"], ("B",): ["B1", "B2"]},
        {"A": "likely", "B": "sure", "B1": "likely", "B2": "sure"},
    )
    result = run(model, task="generic", search="dfs", depth=2)
    assert result.answer == "the answer (from B / B2)"
    assert [chain_of(c.messages) for c in model.calls if "Write up to" in c.messages[-1].content] == [(), ("B",)]


def test_dfs_with_everything_pruned_answers_from_the_best_leaf_seen():
    model = generic_model({(): ["A", "B"]}, {"A": "impossible", "B": "impossible"})
    result = run(model, task="generic", search="dfs", depth=2, prune=0.5)
    assert result.stop_reason == "converged"
    assert result.answer is None


# -- the recorded tree -----------------------------------------------------------


def test_node_records_rebuild_the_tree_with_parent_links():
    model = generic_model(
        {(): ["A", "B", "C"], ("A",): ["A1", "A2"], ("B",): ["B1"]},
        {"A": "sure", "B": "likely", "C": "impossible"},
    )
    result = run(model, task="generic", beam=2, depth=2)
    seen: dict[int, dict] = {}
    for step in result.steps:
        if step.kind != "node":
            continue
        data = step.data
        assert set(data) >= {"node", "parent", "depth", "value", "status", "state"}
        if data["parent"] is None:
            assert data["node"] == 0 and data["depth"] == 0
        else:
            assert data["parent"] in seen, "a parent is recorded before its children"
            assert data["depth"] == seen[data["parent"]]["depth"] + 1
        seen[data["node"]] = data
    final = nodes(result)
    children = {n["text"]: final[n["parent"]]["text"] for n in final.values() if n["parent"] is not None}
    assert children == {"A": "Why is the sky blue?", "B": "Why is the sky blue?", "C": "Why is the sky blue?",
                        "A1": "A", "A2": "A", "B1": "B"}  # fmt: skip
    # the JSON a CLI --json run prints carries the same structure
    steps = json.loads(json.dumps(result.to_dict()))["steps"]
    assert sum(1 for s in steps if s["kind"] == "node") == sum(1 for s in result.steps if s.kind == "node")
    proposes = [s for s in steps if s["kind"] == "propose"]
    assert [s["data"]["node"] for s in proposes] == [0, final[1]["node"], final[2]["node"]]


# -- budgets -------------------------------------------------------------------


def test_budget_exhaustion_returns_the_best_so_far():
    model = generic_model(
        {(): ["A", "B"], ("A",): ["A1", "A2"], ("B",): ["B1"]},
        {"A": "likely", "B": "sure", "A1": "sure", "B1": "sure"},
    )
    # propose + 2 values + level-2 proposes (2) = 5; the level-2 values do not fit
    result = run(model, budget=Budget(max_steps=6), task="generic", beam=2, depth=2)
    assert result.stop_reason == "max_steps"
    assert result.answer == "B"
    assert "best so far" in result.detail
    assert len(model.calls) == 5


def test_budget_before_any_value_returns_no_answer():
    model = generic_model({(): ["A"]}, {})
    result = run(model, budget=Budget(max_steps=1), task="generic")
    assert result.stop_reason == "max_steps"
    assert result.answer is None


# -- evaluators and generators ----------------------------------------------------


def test_programmatic_evaluator_needs_no_model_calls():
    model = generic_model({(): ["short", "a much longer thought"]}, {})
    result = run(model, task="generic", beam=1, depth=1, evaluator=lambda state: len(state.steps[-1]))
    assert "value" not in model_kinds(result)
    assert result.answer == "the answer (from a much longer thought)"


def test_vote_evaluator_counts_votes():
    def reply(messages) -> str:
        text = messages[-1].content
        if "Write up to" in text:
            return "A\nB\nC"
        if "Reply with its number" in text:
            assert "1. A\n2. B\n3. C" in text
            return "2"
        return "done"

    model = ScriptedModel(reply)
    result = run(model, task="generic", beam=1, depth=1, evaluator="vote", samples_per_eval=3)
    tree = by_text(result)
    assert [tree[t]["value"] for t in "ABC"] == [0.0, 1.0, 0.0]
    assert tree["B"]["status"] == "kept"
    votes = [c for c in model.calls if "Reply with its number" in c.messages[-1].content]
    assert len(votes) == 3
    assert {c.options.seed for c in votes} == {0, 1, 2}
    assert all(c.options.temperature == 0.7 for c in votes)


def test_value_samples_are_averaged():
    answers = iter(["sure", "impossible", "sure", "sure"])

    def reply(messages) -> str:
        text = messages[-1].content
        if "Write up to" in text:
            return "A\nB"
        if "Reply sure" in text:
            return next(answers)
        return "done"

    result = run(ScriptedModel(reply), task="generic", beam=2, depth=1, samples_per_eval=2)
    tree = by_text(result)
    assert tree["A"]["value"] == 0.5
    assert tree["B"]["value"] == 1.0


def test_sample_mode_draws_k_thoughts_with_distinct_seeds():
    def reply(messages) -> str:
        text = messages[-1].content
        if "Write the next step" in text:
            return "thought\nignored second line"
        if "Reply sure" in text:
            return "sure"
        return "done"

    model = ScriptedModel(reply)
    result = run(model, task="generic", generate="sample", branch=3, beam=3, depth=1)
    samples = [c for c in model.calls if "Write the next step" in c.messages[-1].content]
    assert len(samples) == 3
    assert len({c.options.seed for c in samples}) == 3
    records = nodes(result)
    assert [n["status"] for n in records.values() if n["text"] == "thought"] == ["kept", "pruned", "pruned"]
    assert "ignored second line" not in by_text(result)


# -- Game of 24 ----------------------------------------------------------------------


def game24_model(proposals: dict[str, str], values: dict[str, str] | None = None):
    """Proposes ``proposals[left numbers]`` and values states by ``values[numbers]``."""

    def reply(messages) -> str:
        numbers = messages[-1].content.removeprefix("Numbers: ")
        if "List possible next steps" in messages[0].content:
            return proposals.get(numbers, "")
        if "sure, likely or impossible" in messages[0].content:
            return (values or {}).get(numbers, "likely")
        raise AssertionError(messages[-1].content)

    return ScriptedModel(reply)


def test_game24_stops_at_the_first_checked_solution():
    model = game24_model(
        {"1 1 4 6": "1 + 1\n1 * 1\n4 + 6", "1 4 6": "1 * 4\n4 + 6", "4 6": "4 + 6\n4 * 6", "2 4 6": "2 + 4"}
    )
    result = run(model, question="Use 1 1 4 6 to make 24", beam=5)
    assert result.stop_reason == "answered"
    assert check_expression(result.answer, [1, 1, 4, 6]).ok
    assert result.answer == "((1 * 1) * 4) * 6"
    solution = [n for n in nodes(result).values() if n["status"] == "solution"]
    assert len(solution) == 1 and solution[0]["text"] == "4 * 6 = 24 (left: 24)"
    # no value call after the solution was found
    assert model_kinds(result)[-1] == "propose"


def test_game24_prunes_wrong_steps_and_dead_ends_without_model_calls():
    model = game24_model(
        {
            "4 9 10 13": "10 - 4 = 7 (left: 7 9 13)\n10 - 4 = 6 (left: 6 9 13)\n11 + 13 = 24 (left: 4 9 10 24)",
            "6 9 13": "13 - 9 = 4 (left: 4 6)\n6 + 9 = 15 (left: 13 15)",
            "4 6": "4 + 6 = 10 (left: 10)\n4 * 6 = 24 (left: 24)",
            "13 15": "13 + 15 = 28 (left: 28)",
        }
    )
    result = run(model, question="4 9 10 13", task=Game24(arithmetic="model"), beam=5)
    tree = by_text(result)
    assert tree["10 - 4 = 7 (left: 7 9 13)"]["status"] == "invalid"
    assert tree["10 - 4 = 7 (left: 7 9 13)"]["reason"] == "10 - 4 is 6, not 7"
    assert tree["11 + 13 = 24 (left: 4 9 10 24)"]["reason"].startswith("11 is not available")
    assert tree["4 * 6 = 24 (left: 24)"]["status"] == "solution"
    assert tree["4 + 6 = 10 (left: 10)"]["status"] == "pruned"
    assert tree["4 + 6 = 10 (left: 10)"]["reason"] == "ends at 10, not 24"
    assert result.answer == "(13 - 9) * (10 - 4)"


def test_game24_without_a_solution_gives_no_answer():
    model = game24_model({"1 1 1 1": "1 + 1", "1 1 2": "1 + 1", "2 2": "2 + 2"})
    result = run(model, question="1 1 1 1", beam=5)
    assert result.answer is None
    assert result.stop_reason == "converged"
    assert "without a solution" in result.detail


def test_game24_with_an_oracle_evaluator_keeps_only_solvable_states():
    model = game24_model({"4 9 10 13": "4 + 9\n10 - 4\n4 * 9", "6 9 13": "13 - 9\n9 + 13", "4 6": "4 * 6"})
    oracle = lambda state: 1.0 if solve(state.numbers) else 0.0  # noqa: E731
    result = run(model, question="4 9 10 13", evaluator=oracle, prune=0.5)
    assert result.answer == "(13 - 9) * (10 - 4)"
    assert "value" not in model_kinds(result)
    assert by_text(result)["4 + 9 = 13 (left: 10 13 13)"]["status"] == "pruned"


# -- configuration -------------------------------------------------------------------


def test_get_strategy_builds_a_tree_from_cli_options():
    tree = get_strategy("tree", beam=3, depth=2, branch=4, search="dfs", prune=0.5)
    assert isinstance(tree, Tree)
    assert (tree.beam, tree.depth, tree.branch, tree.search, tree.prune) == (3, 2, 4, "dfs", 0.5)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"beam": 0}, "beam must be >= 1"),
        ({"depth": 0}, "depth must be >= 1"),
        ({"search": "astar"}, "search must be 'bfs' or 'dfs'"),
        ({"evaluator": "magic"}, "evaluator must be"),
        ({"task": "chess"}, "unknown task 'chess'"),
    ],
)
def test_bad_options_are_config_errors(options, message):
    with pytest.raises(ConfigError, match=message):
        Tree(**options)


def test_game24_task_on_a_non_puzzle_is_a_config_error():
    with pytest.raises(ConfigError, match="not a Game of 24 puzzle"):
        run(ScriptedModel([]), task="game24", question="Why is the sky blue?")
