"""``ponder generate gsm8k|game24|humaneval``: a slice of a public benchmark as ``ponder eval`` JSONL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..datasets import public
from ..errors import ConfigError

SHARED = Path("..") / "shared" / "data"


def _range(text: str) -> tuple[int, int | None]:
    start, sep, stop = text.partition(":")
    try:
        return int(start or 0), (int(stop) if stop.strip() else None) if sep else int(start) + 1
    except ValueError:
        raise click.BadParameter(f"use START:STOP (0-based, STOP excluded), got {text!r}") from None


def _write(rows: list[dict[str, Any]], span: str, output: Path) -> None:
    start, stop = _range(span)
    try:
        chosen = public.slice_rows(rows, start, stop)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        with output.open("w", encoding="utf-8") as stream:
            for row in chosen:
                stream.write(json.dumps(row, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"wrote {len(chosen)} items ({chosen[0]['id']} .. {chosen[-1]['id']}) to {output}")


_RANGE = click.option("--range", "span", default="0:", show_default=True, help="Rows START:STOP (0-based).")
_OUTPUT = click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)


@click.command("gsm8k")
@click.option("--source", type=click.Path(dir_okay=False, path_type=Path), default=SHARED / "gsm8k" / "test.jsonl")
@_RANGE
@_OUTPUT
def generate_gsm8k(source: Path, span: str, output: Path) -> None:
    """GSM8K test problems (gold: the number after ####); score with --scorer number."""
    _write(public.gsm8k(source), span, output)


@click.command("game24")
@click.option("--source", type=click.Path(dir_okay=False, path_type=Path), default=SHARED / "game24" / "24.csv")
@_RANGE
@_OUTPUT
def generate_game24(source: Path, span: str, output: Path) -> None:
    """Game of 24 puzzles (900:1000 is the ToT paper's slice); score with --scorer game24."""
    _write(public.game24(source), span, output)


@click.command("humaneval")
@_RANGE
@_OUTPUT
def generate_humaneval(span: str, output: Path) -> None:
    """HumanEval problems (hidden tests kept out of the question); score with --scorer humaneval."""
    _write(public.humaneval(), span, output)


COMMANDS = (generate_gsm8k, generate_game24, generate_humaneval)
