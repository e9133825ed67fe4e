"""Models by role (root, sub, fast, judge) and the one budget gate.

These tests start a process, a server or a real model; the others are in tests/unit/test_roles.py."""

from __future__ import annotations

import json

import pytest

from ponder.cli import main
from servers import FakeChatServer


@pytest.mark.integration
def test_route_with_a_fast_model_on_another_backend_records_who_answered(capsys):
    """--fast-model on one backend (the scripted fake), the root model on a loopback OpenAI-compatible server."""
    with FakeChatServer() as server:
        args = ["ask", "What is 2+2?", "-s", "route", "--model", "openai:big", "--base-url", server.url]
        code = main([*args, "--fast-model", "scripted", "--verifier", "agree:2:0.5", "--json", "--no-store"])
        out, err = capsys.readouterr()
        assert code == 0, err
        data = json.loads(out)
        called = [s for s in data["steps"] if "usage" in s]
        assert called[0]["kind"] == "answer" and called[0]["model"] == "scripted" and called[0]["depth"] == 1
        assert {s["model"] for s in called[1:]} == {"openai:big"}  # the agreement samples run on the root model
        assert set(data["usage_by_model"]) == {"scripted", "openai:big"}
        assert data["usage_by_model"]["openai:big"]["model_calls"] == server.requests == len(called) - 1
