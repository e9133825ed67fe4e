"""A run as data on the real embedded model: a spec file gives the flags' result; a fast model on another backend."""

from __future__ import annotations

import json

import pytest

from ponder.cli import main
from servers import FakeChatServer

pytestmark = pytest.mark.integration

QUESTION = "What is the capital of France?"


def _comparable(result: dict) -> dict:
    drop = {"run_id", "seconds"}
    steps = [{k: v for k, v in s.items() if k not in drop} for s in result["steps"]]
    return {**{k: v for k, v in result.items() if k not in drop}, "steps": steps}


def test_a_spec_file_gives_the_same_result_as_the_flags_on_the_embedded_model(capsys, tmp_path):
    flags = [QUESTION, "--strategy", "route", "--escalate-to", "consistency", "--samples", "3"]
    flags += ["--verifier", "agree:2:0.5", "--max-tokens", "24", "--no-store"]
    assert main(["ask", *flags, "--dry-run", "--json"]) == 0
    path = tmp_path / "spec.json"
    path.write_text(capsys.readouterr().out)
    assert main(["ask", *flags, "--json"]) == 0
    direct = json.loads(capsys.readouterr().out)
    assert main(["ask", "--spec", str(path), "--json"]) == 0
    from_file = json.loads(capsys.readouterr().out)
    assert direct["model"] == "smollm2" and direct["usage"]["model_calls"] >= 3
    assert _comparable(from_file) == _comparable(direct)


def test_route_with_the_embedded_fast_model_and_a_loopback_root_model(capsys):
    with FakeChatServer() as server:
        args = ["ask", QUESTION, "-s", "route", "--model", "openai:root", "--base-url", server.url]
        code = main([*args, "--fast-model", "smollm2", "--verifier", "agree:2:0.5", "--max-tokens", "24", "--json"])
        out, err = capsys.readouterr()
        assert code == 0, err
    data = json.loads(out)
    called = [(s["kind"], s["model"]) for s in data["steps"] if "usage" in s]
    assert called[0] == ("answer", "smollm2")  # the fast path ran in-process
    assert {model for _, model in called[1:]} == {"openai:root"}  # the check and any slow path ran on the server
    assert data["usage_by_model"]["smollm2"]["model_calls"] == 1
    # an escalated vote reuses the check's samples (its own seeds 1..K) from the run's cache: not sent again
    cached = [s for s in data["steps"] if "usage" in s and s.get("data", {}).get("cached")]
    assert all(s["kind"] == "sample" for s in cached)
    assert len(cached) == (2 if any(kind == "sample" for kind, _ in called) else 0)
    sent = len(called) - 1 - len(cached)
    assert data["usage_by_model"]["openai:root"]["model_calls"] == sent == server.requests
