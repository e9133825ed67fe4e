"""Run specs for the recursive REPL: depth models, tools for recursive, the code-mode step limit."""

from __future__ import annotations

import pytest

from ponder.builder import open_run
from ponder.errors import ConfigError
from ponder.spec import RunSpec
from ponder.strategies.recursive import CODE_SUB_CALLS


def test_depth_models_are_roles_of_the_spec() -> None:
    spec = RunSpec.from_dict({"models": {"root": "scripted", "depth:2": "scripted"}, "record": False})
    assert spec.model("depth:2").model == "scripted"
    assert RunSpec.from_json(spec.to_json()) == spec
    for bad in ("depth:0", "depth:x", "depth:01", "deep"):
        with pytest.raises(ConfigError, match="unknown model role"):
            RunSpec.from_dict({"models": {bad: "scripted"}})


def test_recursive_takes_tools_but_does_not_need_them() -> None:
    RunSpec.from_dict({"strategy": "recursive", "context_text": "abc"})
    spec = RunSpec.from_dict({"strategy": "recursive", "context_text": "abc", "tools": ["calculator"]})
    assert spec.tools == ("calculator",)
    with pytest.raises(ConfigError, match="needs --tools"):
        RunSpec.from_dict({"strategy": "react"})


def test_code_mode_gets_room_for_its_sub_calls_plan_mode_keeps_the_default() -> None:
    base = {
        "strategy": {"strategy": "recursive", "mode": "code"},
        "context_text": "abc",
        "record": False,
        "models": {"root": "scripted"},
    }
    code = RunSpec.from_dict(base)
    with open_run(code) as opened:
        assert opened.budget("q?").max_steps == 30 + CODE_SUB_CALLS
    plan = RunSpec.from_dict({**base, "strategy": {"strategy": "recursive", "mode": "plan"}})
    with open_run(plan) as opened:
        assert opened.budget("Where is it?").max_steps == 8
    fixed = RunSpec.from_dict({**base, "budget": {"max_steps": 5}})
    with open_run(fixed) as opened:
        assert opened.budget("q?").max_steps == 5
