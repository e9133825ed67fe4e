"""``ponder ask --context``: recursive plan mode from the command line, and mode selection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ponder import ScriptedModel
from ponder.cli import main
from ponder.strategies.recursive import recursive_mode


def test_ask_with_a_context_file_runs_the_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Boats rocked in the harbour. " * 300 + "The secret code for vintrel is 482913. " + "Gulls. " * 300)
    code = main(
        ["ask", "What is the secret code for vintrel?", "--context", str(path), "--model", "scripted", "--json"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert data["strategy"] == "recursive"
    kinds = [s["kind"] for s in data["steps"]]
    assert kinds[:2] == ["split", "filter"] and "map" in kinds
    # the scripted backend echoes its prompt: "echo" is not in the text, so grounding rejects every reply
    assert data["answer"] is None


def test_missing_context_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["ask", "q?", "--context", "/no/such/file", "--model", "scripted"])
    _, err = capsys.readouterr()
    assert code != 0 and "does not exist" in err and "Traceback" not in err


def test_auto_mode_follows_the_backend_capability() -> None:
    assert recursive_mode("auto", ScriptedModel([])) == "plan"
    assert recursive_mode("auto", ScriptedModel([], writes_code=True)) == "code"
    assert recursive_mode("auto", ScriptedModel([], name="openai:named-so-but-cannot")) == "plan"  # not by its name
    assert recursive_mode("plan", ScriptedModel([], writes_code=True)) == "plan"
