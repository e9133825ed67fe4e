"""``ponder sandbox run``: run a Python file (or stdin) in the isolated sandbox."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import click

from ..errors import ConfigError
from ..guards.numbers import MAX_SECONDS
from ..guards.text import clean_tree, for_terminal
from ..sandbox import ExecResult, IsolationWarning, Sandbox, SandboxConfig
from .numbers import FiniteFloat, Whole

#: the largest --memory-mb (1 TiB): beyond it the limit means nothing and overflows the kernel's
MAX_MEMORY_MB = 1 << 20


@click.group()
def sandbox() -> None:
    """Run Python code in the bubblewrap sandbox."""


@sandbox.command("run")
@click.argument("source")
@click.option(
    "--timeout",
    type=FiniteFloat(min=0, max=MAX_SECONDS, min_open=True),
    default=10.0,
    show_default=True,
    help="Wall-clock seconds.",
)
@click.option(
    "--memory-mb", type=Whole(min=64, max=MAX_MEMORY_MB), default=512, show_default=True, help="Address-space limit."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (stdout, stderr, error, timed_out, ...).")
@click.option(
    "--require-isolation", is_flag=True, help="Fail instead of running unisolated when bubblewrap is unusable."
)
def run(source: str, timeout: float, memory_mb: int, as_json: bool, require_isolation: bool) -> int:
    """Run the Python file SOURCE ('-' for stdin) in a fresh sandbox; exit status 1 if the code failed."""
    code = _read_source(source)
    config = SandboxConfig(timeout=timeout, memory_mb=memory_mb, require_isolation=require_isolation)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", IsolationWarning)
        box = Sandbox(config).start()
    for warning in caught:
        message = str(warning.message).removeprefix("ponder sandbox: ")
        click.echo(f"ponder: warning: {for_terminal(message, one_line=True)}", err=True)
    with box:
        result = box.run(code)
    _print(result, as_json)
    return 0 if result.ok else 1


def _read_source(source: str) -> str:
    if source == "-":
        try:
            return sys.stdin.buffer.read().decode("utf-8") if hasattr(sys.stdin, "buffer") else sys.stdin.read()
        except UnicodeDecodeError as exc:
            raise ConfigError(f"cannot read the code from stdin: it is not UTF-8 text ({exc.reason})") from None
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no such file: {source}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {source}: {exc}") from None


def _print(result: ExecResult, as_json: bool) -> None:
    """The code's output, neutralised for the terminal (:func:`ponder.guards.text.for_terminal`: its escape
    sequences are shown, not obeyed); ``--json`` is the faithful record (JSON escapes control characters)."""
    if as_json:
        click.echo(json.dumps(clean_tree(result.to_dict()), ensure_ascii=False))
        return
    if result.stdout:
        click.echo(for_terminal(result.stdout), nl=False)
    if result.stderr:
        click.echo(for_terminal(result.stderr), nl=False, err=True)
    if result.error and result.error not in result.stderr:
        click.echo(f"error: {for_terminal(result.error)}", err=True)
