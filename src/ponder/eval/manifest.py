"""``eval.json``: what an evaluation in a folder runs, and how it keys its items, which a rerun there keeps.

The rows of ``results.jsonl`` name their item by id, and a rerun skips the
(item, spec) pairs it finds there; so a rerun into the same folder must key the
items as the run that wrote the rows did, or it would run them all again under
other keys. ``eval.json`` records the choice as ``id_field``: a record field, or
null for line numbers. An ``eval.json`` written before ponder recorded it has no
such key, which means line numbers (all ponder used then), so those evaluations
resume as before. ``eval.json`` is written whole or not at all (a new file put
in place), so a kill never leaves half of one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .arms import Arm
from .data import Fields, Item, ItemIdError, load_items

MANIFEST = "eval.json"


@dataclass(frozen=True, slots=True)
class IdChoice:
    """How an evaluation keys its items: by the record field ``field``, or by line number (None)."""

    field: str | None

    def __str__(self) -> str:
        return "line number" if self.field is None else f"the field {self.field!r}"


def id_choice(items: Sequence[Item]) -> IdChoice:
    """How ``items`` are keyed (one way for all of them, as :func:`~.data.load_items` gives them)."""
    fields = {item.id_field for item in items}
    if len(fields) > 1:
        raise ConfigError(f"the items are keyed in {len(fields)} ways; key them all by one field or by line number")
    return IdChoice(next(iter(fields), None))


def recorded(out: Path) -> IdChoice | None:
    """The choice ``out``'s ``eval.json`` records (None: ``out`` has no ``eval.json``)."""
    path = out / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        text = ""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not an evaluation's JSON; restore it, or use another --out")
    field = data.get("id_field")
    if field is not None and (not isinstance(field, str) or not field):
        raise ConfigError(f"{path} has a bad id_field ({field!r}); restore it, or use another --out")
    return IdChoice(field)


def load_resumed(path: str | Path, fields: Fields, out: Path) -> list[Item]:
    """The items of ``path`` keyed as the evaluation in ``out`` keys them, if there is one: by its recorded
    choice when ``fields`` names no id field; a ConfigError when ``fields`` name another. A record that the
    recorded id field cannot key is an error that says where the field came from."""
    choice = recorded(out)
    fields = _resumed(fields, choice, out)
    try:
        return load_items(path, fields)
    except ItemIdError as exc:
        if choice is None or choice.field is None:
            raise
        raise ItemIdError(f"{exc}; {out / MANIFEST} keys the items by {choice.field!r}: use another --out") from None


def _resumed(fields: Fields, choice: IdChoice | None, out: Path) -> Fields:
    if choice is None:
        return fields
    if fields.id is None and not fields.line_numbers:
        return replace(fields, id=choice.field, line_numbers=choice.field is None)
    given = IdChoice(None if fields.line_numbers else fields.id)
    if given != choice:
        raise _contradiction(out, choice, given)
    return fields


def check_resume(out: Path, used: IdChoice) -> None:
    """Refuse to add rows keyed by ``used`` to an evaluation in ``out`` keyed another way."""
    choice = recorded(out)
    if choice is not None and choice != used:
        raise _contradiction(out, choice, used)


def _contradiction(out: Path, choice: IdChoice, given: IdChoice) -> ConfigError:
    how = "give no --id-field" if choice.field is None else f"give --id-field {choice.field} or none"
    return ConfigError(
        f"{out / MANIFEST} records items keyed by {choice}, not {given}: to resume there, {how}; else use another --out"
    )


def write_manifest(out: Path, arms: Sequence[Arm], data: str, scorer: str, items: int, ids: IdChoice) -> None:
    """``eval.json``: the data, scorer, id field and specs of the evaluation, for reproducing and resuming it."""
    manifest: dict[str, Any] = {
        "data": data,
        "items": items,
        "scorer": scorer,
        "id_field": ids.field,
        "specs": [{"name": a.name, "hash": a.hash, "spec": a.spec.to_dict()} for a in arms],
    }
    path = out / MANIFEST
    partial = out / f".{MANIFEST}.partial"
    try:
        partial.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None
