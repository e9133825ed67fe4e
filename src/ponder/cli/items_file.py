"""Writing a dataset for ``ponder eval`` (one JSON object a line), as the ``ponder generate`` commands do."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click


def write_items(items: Sequence[Mapping[str, Any]], output: Path, what: str = "problems") -> None:
    """Write ``items`` to ``output`` as JSONL and say how many (``what`` names them); a file that cannot be
    written is one clear CLI error."""
    try:
        with output.open("w", encoding="utf-8") as stream:
            for item in items:
                stream.write(json.dumps(item, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"wrote {len(items)} {what} to {output}")
