"""The sandbox as a REPL: state, errors, output, limits, host calls, fallback, CLI.

The escape attempts live in test_sandbox_escapes.py. Tests that need bubblewrap skip
with a reason when it cannot run here (``make setup`` installs it)."""

from __future__ import annotations

import warnings

import pytest

from ponder.cli import main
from ponder.errors import ConfigError, SandboxUnavailableError
from ponder.sandbox import Sandbox, SandboxConfig
from sandbox_helpers import FAST

# -- configuration, lifecycle, fallback ----------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timeout": 0},
        {"timeout": float("nan")},
        {"memory_mb": 10},
        {"max_output": 0},
        {"cpu_seconds": 1.5},
        {"bwrap_path": ""},
    ],
)
def test_bad_config_raises_config_error(kwargs):
    with pytest.raises(ConfigError):
        SandboxConfig(**kwargs)


def test_closed_sandbox_refuses_calls():
    sandbox = Sandbox(FAST)
    sandbox.close()
    with pytest.raises(SandboxUnavailableError):
        sandbox.run("1")


def test_require_isolation_raises_instead_of_falling_back():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning either: it must raise first
        with pytest.raises(SandboxUnavailableError, match="isolation is required"):
            Sandbox(SandboxConfig(bwrap_path="/nonexistent/bwrap", require_isolation=True)).start()


def test_cli_missing_file_is_one_line_error(capsys):
    code = main(["sandbox", "run", "/nonexistent/script.py"])
    _, err = capsys.readouterr()
    assert code != 0
    assert err.count("\n") == 1 and "/nonexistent/script.py" in err
