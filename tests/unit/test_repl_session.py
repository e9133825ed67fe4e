"""REPL sessions: variables and contexts kept across questions, stored, rebuilt by replay after a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ponder.cli import cli
from ponder.errors import ConfigError
from ponder.spec import RunSpec
from repl_session_helpers import FIRST


def test_session_flags_are_checked() -> None:
    with pytest.raises(ConfigError, match="--session keeps the REPL of --strategy recursive"):
        RunSpec.from_dict({"strategy": "refine", "session": "s"})
    with pytest.raises(ConfigError, match="--session needs --context"):
        RunSpec.from_dict({"strategy": "recursive", "session": "s"})
    with pytest.raises(ConfigError, match="a session name is"):
        RunSpec.from_dict({"strategy": "recursive", "session": "a b", "context_text": "x"})
    with pytest.raises(ConfigError, match="drop --no-store"):
        RunSpec.from_dict({"strategy": "recursive", "session": "s", "context_text": "x", "record": False})


def test_ask_session_in_plan_mode_is_one_clear_error(tmp_path: Path) -> None:
    context = tmp_path / "c.txt"
    context.write_text(FIRST)
    out = CliRunner().invoke(
        cli,
        [
            "ask",
            "--model",
            "scripted",
            "--context",
            str(context),
            "--session",
            "s",
            "--store",
            str(tmp_path / "r.db"),
            "q?",
        ],
    )
    assert out.exit_code != 0 and "plan mode" in str(out.exception)


def test_ask_session_dry_run_records_the_session(tmp_path: Path) -> None:
    context = tmp_path / "c.txt"
    context.write_text(FIRST)
    out = CliRunner().invoke(
        cli, ["ask", "--context", str(context), "--session", "work", "--mode", "code", "--dry-run", "--json", "q?"]
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["session"] == "work"
