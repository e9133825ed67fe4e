"""Models by role (root, sub, fast, judge) and the one budget gate."""

from __future__ import annotations

import pytest

from ponder import Budget, Engine, RunSpec, ScriptedModel, StopRun, open_run, strategies
from ponder.engine.budget import BudgetMeter
from ponder.errors import DepthLimit
from ponder.requests import Child, Generate, Outcome
from ponder.types import Usage, user
from ponder.verifiers import Judge


def test_a_judge_role_answers_the_verifier_and_usage_is_per_model():
    root = ScriptedModel(["a draft"], name="writer")
    judge = ScriptedModel(["CORRECT: fine"], name="critic")
    result = Engine(root, models={"judge": judge}).run(strategies.Verify(verifier=Judge()), "q")
    assert result.stop_reason == "answered"
    assert [(s.kind, s.model) for s in result.steps if s.usage is not None] == [
        ("draft", "writer"),
        ("judge", "critic"),
    ]
    assert set(result.usage_by_model) == {"writer", "critic"}
    assert result.usage_by_model["critic"].model_calls == 1
    assert result.to_dict()["usage_by_model"]["writer"]["model_calls"] == 1
    called = [e for e in result.events if e.type == "model_call"]
    assert [(e.model, e.role) for e in called] == [("writer", "root"), ("critic", "judge")]  # type: ignore[attr-defined]


def test_a_child_run_names_the_role_of_all_its_calls():
    class TwoRoles:
        name = "two"

        def run(self, question):
            first = yield Child(strategies.Single(), question, role="fast")
            second = yield Generate.of([user(question)], kind="answer")
            return Outcome(first.answer + " / " + second.text)

    fast, root = ScriptedModel(["quick"], name="fast-one"), ScriptedModel(["slow"], name="root-one")
    result = Engine(root, models={"fast": fast}).run(TwoRoles(), "q")
    assert result.answer == "quick / slow"
    assert [s.model for s in result.steps] == ["fast-one", "root-one"]
    started = next(e for e in result.events if e.type == "run_started")
    assert started.models == {"root": "root-one", "fast": "fast-one"}  # type: ignore[attr-defined]


def test_recursive_sub_calls_use_the_sub_model():
    document = " ".join(f"Day {i}: the caravan rested." for i in range(400)) + " The vault code is 7312."
    root = ScriptedModel(lambda messages: "unused", name="root-model")
    sub = ScriptedModel(lambda m: "7312" if "7312" in m[-1].content else "NONE", name="sub-model")
    result = Engine(root, models={"sub": sub}).run(strategies.Recursive(context=document), "What is the vault code?")
    assert result.answer == "7312"
    assert {s.model for s in result.steps if s.kind == "map"} == {"sub-model"}
    assert root.calls == []


def test_writes_code_is_a_capability_set_per_model_in_the_spec(tmp_path):
    (tmp_path / "a.txt").write_text("alpha beta")
    base = {"context": str(tmp_path / "a.txt"), "record": False}
    with open_run(RunSpec.from_dict({**base, "models": {"root": "scripted"}})) as opened:
        assert opened.strategy.mode == "plan"  # type: ignore[attr-defined]
    coder = {"root": {"model": "scripted", "writes_code": True}}
    with open_run(RunSpec.from_dict({**base, "models": coder})) as opened:
        assert opened.strategy.mode == "code"  # type: ignore[attr-defined]


# -- the one budget gate ------------------------------------------------------------------


def test_the_meter_admits_calls_tools_and_children():
    meter = BudgetMeter(Budget(max_steps=2, max_model_calls=5, max_tokens=100, max_depth=1))
    meter.admit_calls(2)
    meter.take_steps(2)  # steps count once the calls' token caps are admitted too
    with pytest.raises(StopRun) as stop:
        meter.admit_calls(1)
    assert stop.value.reason == "max_steps"
    meter.admit_tool()  # tool calls are not steps
    with pytest.raises(DepthLimit):
        meter.admit_child(2)
    meter.count(Usage(prompt_tokens=60, completion_tokens=10, model_calls=1))
    assert meter.cap(384, lambda: 20) == 10  # what is left after the prompt
    with pytest.raises(StopRun, match="token limit of 100"):
        meter.cap(384, lambda: 40)
    meter.count(Usage(prompt_tokens=30))
    with pytest.raises(StopRun, match="token limit"):
        meter.admit_tool()


def test_a_depth_limit_refuses_only_that_child():
    class Deep:
        name = "deep"

        def run(self, question):
            try:
                yield Child(strategies.Single(), question)
            except DepthLimit as refused:
                answer = yield Generate.of([user(question)], kind="answer")
                return Outcome(f"{answer.text} ({refused.detail})")
            return Outcome("unreachable")

    result = Engine(ScriptedModel(["direct"]), budget=Budget(max_depth=0)).run(Deep(), "q")
    assert result.stop_reason == "answered"
    assert result.answer == "direct (recursion depth limit of 0 reached)"


def test_a_strategys_round_limit_is_not_the_engines_step_limit():
    rounds = Engine(ScriptedModel(["a a a", "- fix", "b b b b b"])).run(strategies.Refine(max_rounds=1), "q")
    steps = Engine(ScriptedModel(["a a a", "- fix"]), budget=Budget(max_steps=2)).run(strategies.Refine(), "q")
    assert (rounds.stop_reason, steps.stop_reason) == ("rounds", "max_steps")
