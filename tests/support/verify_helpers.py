"""Helpers shared by tests/unit/test_verify.py and tests/integration/test_verify_integration.py."""

from __future__ import annotations

from ponder import Budget, Engine, ScriptedModel
from ponder.strategies import Verify


def run(replies, verifier, budget=None, **kw):
    model = ScriptedModel(replies, supports_concurrency=False)
    result = Engine(model, budget=budget or Budget(max_steps=20)).run(
        Verify(verifier=verifier, **kw), "Capital of France?"
    )
    return model, result


def verdicts(result):
    return [s for s in result.steps if s.kind == "verdict"]
