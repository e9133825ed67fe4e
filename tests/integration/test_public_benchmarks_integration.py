"""Public benchmarks on the eval harness: GSM8K/Game of 24/HumanEval data, their scorers, the examples verifier.

These tests start a process, a server or a real model; the others are in tests/unit/test_public_benchmarks.py."""

from __future__ import annotations

import pytest

from ponder import Budget, Engine, ScriptedModel
from ponder.eval.data import Item
from ponder.eval.scorers import get_scorer
from ponder.strategies import Verify
from ponder.verifiers.examples import ExamplesCheck
from public_benchmarks_helpers import QUESTION


@pytest.mark.integration
def test_examples_check_sends_the_failing_example_back_and_accepts_the_fix(python):
    wrong = "```python\ndef add(a, b):\n    return a - b\n```"
    right = "```python\ndef add(a, b):\n    return a + b\n```"
    model = ScriptedModel([wrong, right], supports_concurrency=False)
    result = Engine(model, budget=Budget(max_steps=20)).run(Verify(verifier=ExamplesCheck(python)), QUESTION)
    assert result.answer == right
    verdicts = [s for s in result.steps if s.kind == "verdict"]
    assert [v.data["ok"] for v in verdicts] == [False, True]
    feedback = verdicts[0].data["feedback"]
    assert "add(2, 3) returned -1; the question says 5" in feedback
    assert "add(2, 3) returned -1" in model.calls[1].messages[-1].content  # the revision is told


@pytest.mark.integration
def test_humaneval_scorer_runs_the_hidden_tests_in_the_sandbox():
    record = {"entry_point": "add", "test": "def check(candidate):\n    assert candidate(2, 3) == 5\n"}
    item = Item("h", QUESTION, None, record=record)
    scorer = get_scorer("humaneval")
    assert scorer.score("```python\ndef add(a, b):\n    return a + b\n```", item).correct
    wrong = scorer.score("```python\ndef add(a, b):\n    return a * b\n```", item)
    assert not wrong.correct and "AssertionError" in wrong.detail
    assert not scorer.score("```python\nwhile True: pass\n```", Item("t", "q", None, record=record)).correct
