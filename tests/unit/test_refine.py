"""refine's stopping rules, with scripted models."""

from __future__ import annotations

import itertools

from ponder import Budget, Engine, Refine, ScriptedModel
from ponder.prompts import load
from ponder.stop import similarity


def run(replies, budget=None, **kw):
    model = ScriptedModel(replies)
    result = Engine(model, budget=budget or Budget(max_steps=20)).run(Refine(**kw), "Why did Rome fall?")
    return model, result


def model_kinds(result):
    return [s.kind for s in result.steps if s.usage is not None]


def test_stops_when_critique_finds_nothing():
    _model, result = run(["Draft one.", "NO ISSUES"])
    assert result.stop_reason == "converged"
    assert result.answer == "Draft one."
    assert model_kinds(result) == ["draft", "critique"]
    assert result.steps[-1].data == {"verdict": "no_issues"}


def test_no_issues_marker_tolerates_markup_and_case():
    _, result = run(["Draft.", "- no issues found."])
    assert result.stop_reason == "converged"


def test_critique_that_mentions_no_issues_later_is_not_convergence():
    _, result = run(["Draft.", "- One problem. Otherwise NO ISSUES", "Better draft.", "NO ISSUES"])
    assert result.answer == "Better draft."


def test_stops_when_revision_no_longer_changes():
    _model, result = run(["Economic decline.", "- too short", "Economic decline. ", "- more"])
    assert result.stop_reason == "converged"
    assert result.answer == "Economic decline."
    assert model_kinds(result) == ["draft", "critique", "revision"]


def test_detects_a_loop_back_to_an_earlier_draft():
    a = "Rome fell because of invasions by Germanic tribes."
    b = "Rome fell mostly because of economic troubles and inflation."
    _, result = run([a, "- x", b, "- y", a, "- z"])
    assert result.stop_reason == "loop"
    assert "draft 0" in result.detail


def test_budget_returns_latest_draft():
    replies = ["first draft", "- fix", "second draft here", "- fix", "third quite different", "- fix"]
    model, result = run(replies, budget=Budget(max_steps=4))
    assert result.stop_reason == "max_steps"
    # draft, critique, revision, critique: the revision is the latest draft
    assert result.answer == "second draft here"
    assert len(model.calls) == 4


def test_max_rounds_bounds_the_loop():
    replies = ["a a a", "- fix", "b b b b b", "- fix", "c c c c c c c"]
    _, result = run(replies, max_rounds=1)
    assert result.stop_reason == "rounds"  # the strategy's own limit, not the engine's max_steps
    assert result.answer == "b b b b b"


def test_prompts_grow_byte_stably_for_prefix_reuse():
    model, _ = run(["draft", "- fix", "revised text", "NO ISSUES"])
    calls = [c.messages for c in model.calls]
    for earlier, later in itertools.pairwise(calls):
        assert later[: len(earlier)] == earlier
    assert calls[1][-1].content == load("refine/critique")
    assert calls[2][-1].content == load("refine/revise")
    assert calls[1][-2].content == "draft"


def test_empty_revision_is_ignored():
    _, result = run(["draft", "- fix", "   ", "NO ISSUES"])
    assert result.answer == "draft"
    assert result.stop_reason == "converged"


def test_similarity_ignores_case_and_spacing():
    assert similarity("Hello  World", "hello world") == 1.0
    assert similarity("abc", "xyz") < 0.5
