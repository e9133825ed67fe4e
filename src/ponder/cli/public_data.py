"""``ponder generate gsm8k|game24|humaneval``: a slice of a public benchmark as ``ponder eval`` JSONL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..datasets import public
from ..errors import ConfigError
from .items_file import write_items

SHARED = Path("..") / "shared" / "data"

Rows = list[dict[str, Any]]


def _range(text: str) -> tuple[int, int | None]:
    start, sep, stop = text.partition(":")
    try:
        return int(start or 0), (int(stop) if stop.strip() else None) if sep else int(start) + 1
    except ValueError:
        raise click.BadParameter(f"use START:STOP (0-based, STOP excluded), got {text!r}") from None


def _write(rows: Rows, span: str, output: Path) -> None:
    start, stop = _range(span)
    try:
        chosen = public.slice_rows(rows, start, stop)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    write_items(chosen, output, f"items ({chosen[0]['id']} .. {chosen[-1]['id']})")


def _command(name: str, doc: str, load: Callable[..., Rows], source: Path | None = None) -> click.Command:
    """``ponder generate NAME``: ``load(source)`` (or ``load()`` for a benchmark without a file), sliced."""
    params: list[click.Parameter] = []
    if source is not None:
        params.append(click.Option(["--source"], type=click.Path(dir_okay=False, path_type=Path), default=source))
    params += [
        click.Option(["--range", "span"], default="0:", show_default=True, help="Rows START:STOP (0-based)."),
        click.Option(["--output", "-o"], type=click.Path(dir_okay=False, path_type=Path), required=True),
    ]

    def generate(span: str, output: Path, source: Path | None = None) -> None:
        _write(load() if source is None else load(source), span, output)

    return click.Command(name, callback=generate, params=params, help=doc)


COMMANDS = (
    _command(
        "gsm8k",
        "GSM8K test problems (gold: the number after ####); score with --scorer number.",
        public.gsm8k,
        SHARED / "gsm8k" / "test.jsonl",
    ),
    _command(
        "game24",
        "Game of 24 puzzles (900:1000 is the ToT paper's slice); score with --scorer game24.",
        public.game24,
        SHARED / "game24" / "24.csv",
    ),
    _command(
        "humaneval",
        "HumanEval problems (hidden tests kept out of the question); score with --scorer humaneval.",
        public.humaneval,
    ),
)
