"""route (System 1 / System 2): escalate only when the fast answer fails its check."""

from __future__ import annotations

import pytest

from ponder import Budget, Engine, Outcome, ScriptedModel
from ponder.requests import Generate
from ponder.strategies import Consistency, Route, Single
from ponder.types import user
from ponder.verifiers import Agreement, Check, contains


class Tagged:
    """A slow strategy that answers with one model call of kind ``slow``."""

    name = "tagged"

    def run(self, question):
        reply = yield Generate.of([user(question)], kind="slow")
        return Outcome(reply.text, "converged", "slow detail")


class Silent:
    name = "silent"

    def run(self, question):
        yield Generate.of([user(question)], kind="fast")
        return Outcome(None, "error", "could not answer")


def run(replies, budget=None, **kw):
    model = ScriptedModel(replies, supports_concurrency=False)
    result = Engine(model, budget=budget or Budget(max_steps=20)).run(Route(**kw), "Capital of France?")
    return model, result


def route_step(result):
    [step] = [s for s in result.steps if s.kind == "route"]
    return step


def test_a_fast_answer_that_passes_is_final():
    model, result = run(["Paris"], slow=Tagged(), check=contains("Paris"))
    assert result.answer == "Paris"
    assert result.stop_reason == "answered"
    assert len(model.calls) == 1
    assert "slow" not in [s.kind for s in result.steps]
    data = route_step(result).data
    assert data["path"] == "fast"
    assert data["ok"] is True
    assert data["verifier"] == "contains:Paris"
    assert result.detail == "fast path (single) accepted by contains:Paris"


def test_a_fast_answer_that_fails_escalates():
    _model, result = run(["Lyon", "Paris!"], slow=Tagged(), check=contains("Paris"))
    assert result.answer == "Paris!"
    assert result.stop_reason == "converged"  # the slow path's
    assert [s.kind for s in result.steps] == ["answer", "route", "slow"]
    step = route_step(result)
    assert step.data["path"] == "slow"
    assert step.data["feedback"] == "the answer must contain 'Paris'"
    assert "escalating to tagged" in step.text
    assert result.detail.startswith("slow path (tagged) after contains:Paris rejected the fast answer")
    assert [s.depth for s in result.steps] == [1, 0, 1]


@pytest.mark.parametrize(("fast_reply", "escalated"), [("Paris", False), ("Rome", True), ("paris", False)])
def test_escalates_only_on_failure(fast_reply, escalated):
    model, result = run([fast_reply, "slow answer"], slow=Tagged(), check=contains("Paris"))
    assert len(model.calls) == (2 if escalated else 1)
    assert route_step(result).data["path"] == ("slow" if escalated else "fast")


def test_a_fast_path_without_an_answer_escalates_without_a_check():
    checked = []
    _model, result = run(["...", "Paris"], fast=Silent(), slow=Tagged(), check=Check(lambda q, a: checked.append(a)))
    assert checked == []
    assert result.answer == "Paris"
    assert "the fast path gave no answer (error: could not answer)" in route_step(result).data["feedback"]


def test_slow_path_without_an_answer_keeps_the_fast_one():
    _model, result = run(["Lyon", "..."], slow=Silent(), check=contains("Paris"))
    assert result.answer == "Lyon"
    assert "kept the fast one" in result.detail


def test_agreement_check_accepts_a_reproducible_answer():
    # fast (greedy) says 12; three fresh samples: 12, 12, 13 -> agreement 3/4 >= 0.6
    model, result = run(["12", "12", "12", "13"], slow=Tagged(), check=Agreement(samples=3, threshold=0.6))
    assert result.answer == "12"
    assert len(model.calls) == 4
    data = route_step(result).data
    assert data["path"] == "fast"
    assert data["score"] == 0.75
    check_calls = model.calls[1:]
    assert sorted(c.options.seed for c in check_calls) == [1000, 1001, 1002]
    assert {c.options.temperature for c in check_calls} == {0.7}


def test_agreement_check_escalates_an_unstable_answer():
    _model, result = run(["12", "13", "14", "12", "slow"], slow=Tagged(), check=Agreement(samples=3, threshold=0.6))
    assert result.answer == "slow"
    data = route_step(result).data
    assert data["path"] == "slow"
    assert data["score"] == 0.5
    assert "1 of 3 fresh samples agree with 12" in data["feedback"]


def test_a_number_as_check_is_an_agreement_threshold():
    route = Route(check=0.9)
    assert isinstance(route.check, Agreement)
    assert route.check.threshold == 0.9


def test_default_slow_path_is_consistency():
    route = Route()
    assert isinstance(route.fast, Single)
    assert isinstance(route.slow, Consistency)
    _, result = run(
        ["7", "7", "8", "9", "7", "7", "7"],
        check=Agreement(samples=3),
        slow=Consistency(samples=3),
    )
    assert result.answer == "7"
    assert route_step(result).data["path"] == "slow"
    assert result.stop_reason == "converged"
    assert "2 of 2 samples agree" in result.detail


def test_budget_end_before_the_slow_path_keeps_the_fast_answer():
    model, result = run(["Lyon", "never"], budget=Budget(max_steps=1), slow=Tagged(), check=contains("Paris"))
    assert result.answer == "Lyon"
    assert result.stop_reason == "max_steps"
    assert "kept the fast answer" in result.detail
    assert len(model.calls) == 1


def asked_as(call) -> str:
    """The first message of a call: the packaged prompt's system text or the default system prompt."""
    return call.messages[0].content


def test_the_route_prompt_is_how_every_part_asks():
    from ponder.strategies.asking import ask

    cot = ask("Capital of France?", "answer/cot")[0].content
    plain = ask("Capital of France?")[0].content
    model, result = run(
        ["7", "8", "9", "7", "7"],
        prompt="answer/cot",
        check=Agreement(samples=2),
        slow=Consistency(samples=3),
    )
    assert route_step(result).data["path"] == "slow"
    assert [asked_as(c) for c in model.calls] == [cot] * 5  # fast, 2 check samples, 2 votes
    assert cot != plain


def test_a_part_with_its_own_prompt_keeps_it():
    route = Route(prompt="answer/cot", fast=Single(prompt="game24/io"), slow=Consistency(system_prompt="Be brief."))
    assert route.fast.prompt == "game24/io"
    assert route.slow.prompt is None and route.slow.system_prompt == "Be brief."
    assert route.check.prompt is None  # it asks as the slow vote does (shared samples)
    assert Route(prompt="answer/cot", slow=Tagged()).check.prompt == "answer/cot"


def test_the_check_draws_the_votes_own_samples():
    route = Route(slow=Consistency(seed=40, temperature=0.5, extract="answer", prompt="answer/cot"))
    assert (route.check.seed, route.check.temperature) == (41, 0.5)  # samples 1..K of the vote
    assert (route.check.extract, route.check.prompt) == ("answer", "answer/cot")
    assert Route(slow=Consistency(seed=40), share_samples=False).check.seed == Agreement().seed
    assert Route(slow=Consistency(inner=Single())).check.seed == Agreement().seed  # child runs: nothing to share


def test_with_a_cache_an_escalation_reuses_the_check_samples():
    # fast 5 (greedy); the check's samples 1, 2 say 6, 7 -> escalate; the anchored vote's sample 0 is the fast
    # call and samples 1, 2 are the check's: all three come from the cache, only samples 3, 4 are drawn
    model = ScriptedModel(["5", "6", "7", "6", "6"], supports_concurrency=False, cacheable=True)
    route = Route(check=Agreement(samples=2), slow=Consistency(samples=5, anchor=True), prompt="answer/cot")
    result = Engine(model, budget=Budget(max_steps=20), cache=True).run(route, "Capital of France?")
    assert route_step(result).data["path"] == "slow"
    assert len(model.calls) == 5
    assert result.answer == "6"
    drawn = [(c.options.temperature, c.options.seed) for c in model.calls]
    assert drawn == [(0.0, 0), (0.7, 1), (0.7, 2), (0.7, 3), (0.7, 4)]


def test_an_unknown_check_prompt_is_refused():
    from ponder.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown prompt"):
        Agreement(prompt="../../etc/passwd")
