"""Recursive code mode with the 1.5B code model as the root: a generated 16k-token multi-key task."""

from __future__ import annotations

import pytest

from ponder import Budget, Engine, load_model
from ponder.errors import PonderError
from ponder.strategies import Recursive
from ponder.tasks.long_context import generate

pytestmark = pytest.mark.integration


def test_the_code_model_searches_the_context_and_answers() -> None:
    try:
        model = load_model("coder")
    except PonderError as exc:  # the coder extra is not installed here
        pytest.skip(f"the coder model is not available: {exc}")
    task = generate("multi_key", 16_000, seed=7)
    engine = Engine(model, budget=Budget(max_steps=40))
    result = engine.run(Recursive(context=task.context, mode="code", max_iterations=8), task.question)
    kinds = [s.kind for s in result.steps]
    assert "repl" in kinds  # it ran code over the context
    assert task.score(result.answer) == 1.0, (result.answer, result.stop_reason, result.detail)
