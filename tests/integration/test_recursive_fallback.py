"""Auto mode: a root model whose code keeps failing (or never answers) hands the question to plan mode."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from ponder import Budget, Engine, ScriptedModel
from ponder.cli import cli
from ponder.strategies.recursive import Recursive
from ponder.types import Message

pytestmark = pytest.mark.integration

CONTEXT = "\n".join(
    ["The weather was mild that spring."] * 20
    + ["The secret code of the vault is 7341."]
    + ["Birds sang in the old oak trees."] * 20
)


def weak_coder(messages: Sequence[Message]) -> str:
    if messages[0].role == "system" and "REPL" in messages[0].content:
        return "Sure!\n```python\nprint(contxt[:100])\n```"  # a typo, every time
    return "7341" if "7341" in messages[-1].content else "none"


def test_auto_mode_falls_back_to_plan_mode_after_failed_code() -> None:
    model = ScriptedModel(weak_coder, writes_code=True)
    strategy = Recursive(context=CONTEXT, mode="code", auto=True, fallback_after=2)
    result = Engine(model, budget=Budget(max_steps=20)).run(strategy, "What is the secret code of the vault?")
    assert result.answer == "7341" and result.stop_reason == "answered"
    kinds = [s.kind for s in result.steps]
    assert kinds.count("code") == 2 and "fallback" in kinds
    fallback = next(s for s in result.steps if s.kind == "fallback")
    assert fallback.data["to"] == "plan" and fallback.data["failures"] == 2
    assert "2 replies or blocks that did not run" in fallback.data["reason"]
    assert kinds.index("fallback") < kinds.index("split")  # plan mode ran after the decision
    assert result.detail.startswith("fell back to plan mode")


def test_a_model_that_never_answers_falls_back_after_max_iterations() -> None:
    def explorer(messages: Sequence[Message]) -> str:
        if messages[0].role == "system" and "REPL" in messages[0].content:
            return "```python\nprint(len(context))\n```"  # runs, but never calls FINAL
        return "7341" if "7341" in messages[-1].content else "none"

    strategy = Recursive(context=CONTEXT, mode="code", auto=True, max_iterations=3)
    result = Engine(ScriptedModel(explorer), budget=Budget(max_steps=20)).run(strategy, "What is the secret code?")
    fallback = next(s for s in result.steps if s.kind == "fallback")
    assert fallback.data["reason"] == "no FINAL answer after 3 turns" and fallback.data["failures"] == 0
    assert result.answer == "7341"


def test_explicit_code_mode_never_falls_back() -> None:
    strategy = Recursive(context=CONTEXT, mode="code", fallback_after=1, max_iterations=3)  # auto=False
    result = Engine(ScriptedModel(weak_coder), budget=Budget(max_steps=20)).run(strategy, "What is the code?")
    assert result.answer is None and result.stop_reason == "rounds"
    assert "fallback" not in [s.kind for s in result.steps]


def test_the_fallback_decision_is_in_ask_json(tmp_path: Path) -> None:
    context = tmp_path / "notes.txt"
    context.write_text(CONTEXT)
    spec = {
        "strategy": {"strategy": "recursive", "fallback_after": 2},
        # the echo fake "writes code" by this override: it never does, so its replies have no code block
        "models": {"root": {"model": "scripted", "writes_code": True}},
        "context": str(context),
        "record": False,
    }
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    out = CliRunner().invoke(cli, ["ask", "--spec", str(spec_file), "--json", "--max-steps", "30", "What is the code?"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    fallback = [s for s in result["steps"] if s["kind"] == "fallback"]
    assert len(fallback) == 1 and fallback[0]["data"]["to"] == "plan"
    assert "fell back to plan mode" in result["detail"]
    assert any(s["kind"] == "split" for s in result["steps"])
