"""verify and the verifiers: accept, revise with feedback, give up after max_rounds; judge, grounded, code checks.

These tests start a process, a server or a real model; the others are in tests/unit/test_verify.py."""

from __future__ import annotations

import pytest

from ponder.verifiers import CodeCheck
from verify_helpers import run, verdicts

# -- sandboxed code checks ---------------------------------------------------------------


@pytest.mark.integration
def test_code_check_runs_through_the_engine_as_a_tool_call(python):
    tests = "assert add(2, 3) == 5\nassert add(-1, 1) == 0"
    wrong = "```python\ndef add(a, b):\n    return a - b\n```"
    right = "Here:\n```python\ndef add(a, b):\n    return a + b\n```"
    model, result = run([wrong, right], CodeCheck(python, tests))
    assert result.answer == right
    kinds = [s.kind for s in result.steps]
    assert kinds == ["draft", "verify_code", "verdict", "revision", "verify_code", "verdict"]
    tool_steps = [s for s in result.steps if s.kind == "verify_code"]
    assert [s.data["ok"] for s in tool_steps] == [False, True]
    assert "AssertionError" in verdicts(result)[0].data["feedback"]
    assert "AssertionError" in model.calls[1].messages[-1].content  # the revision sees why


@pytest.mark.integration
def test_code_check_uses_a_fresh_namespace_each_time(python):
    check = CodeCheck(python, "assert helper() == 1")
    # round 1 defines helper() but then fails; round 2 does not define it and must not pass thanks to round 1
    first = "def helper():\n    return 1\nraise ValueError('boom')"
    _, result = run([first, "x = 1"], check, max_rounds=2)
    assert result.stop_reason == "rounds"
    feedback = [v.data["feedback"] for v in verdicts(result)]
    assert "ValueError" in feedback[0]
    assert "NameError" in feedback[1]
