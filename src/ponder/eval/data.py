"""Evaluation items from JSONL or CSV files (or a folder of them), and the choice of which to run.

An item is a question, its gold answer, an id and, for ``recursive``, a per-item
context. Which field holds what is set by :class:`Fields`; a field left unset is
looked up among common names (``question``/``input``/``prompt``/``problem``,
``answer``/``gold``/``target``/``label``/``output``). The id defaults to the
item's line number (``FILE:LINE`` for a folder). A context value of the form
``@PATH`` names a file or folder (relative to the data file); any other value is
the context text itself.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

QUESTION_FIELDS = ("question", "input", "prompt", "problem")
ANSWER_FIELDS = ("answer", "gold", "target", "label", "output")
SUFFIXES = (".jsonl", ".csv")


@dataclass(frozen=True, slots=True)
class Fields:
    """Which field of a record holds the question, the gold answer, the id and the context (None: the default)."""

    question: str | None = None
    answer: str | None = None
    id: str | None = None
    context: str | None = None


@dataclass(frozen=True)
class Item:
    """One question to evaluate. ``context`` is a text or, as ``context_path``, a file or folder."""

    id: str
    question: str
    gold: str | None = None
    context: str | None = None
    context_path: str | None = None
    #: the whole record, for ``python:`` scorers
    record: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "gold": self.gold,
            "context": self.context,
            "context_path": self.context_path,
            "record": dict(self.record),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Item:
        return cls(**{**data, "record": dict(data.get("record") or {})})


def load_items(path: str | Path, fields: Fields = Fields()) -> list[Item]:
    """Every item in ``path`` (a ``.jsonl`` or ``.csv`` file, or a folder of them, read in name order)."""
    root = Path(path).expanduser()
    if root.is_dir():
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        if not files:
            raise ConfigError(f"the folder {root} has no .jsonl or .csv files")
    elif root.is_file():
        files = [root]
    else:
        raise ConfigError(f"no data file or folder {root}")
    items: list[Item] = []
    seen: dict[str, str] = {}
    for file in files:
        prefix = f"{file.relative_to(root)}:" if root.is_dir() else ""
        for line, record in _records(file):
            where = f"{file}:{line}"
            item = _item(record, fields, f"{prefix}{line}", where, file.parent)
            if item.id in seen:
                raise ConfigError(f"item id {item.id!r} appears twice ({seen[item.id]} and {where}); use --id-field")
            seen[item.id] = where
            items.append(item)
    if not items:
        raise ConfigError(f"{root} holds no items")
    return items


def select(items: list[Item], *, limit: int | None = None, sample: int | None = None, seed: int = 0) -> list[Item]:
    """A seeded random ``sample`` of the items (kept in file order), then the first ``limit``."""
    chosen = items
    if sample is not None and sample < len(items):
        picked = set(random.Random(seed).sample(range(len(items)), sample))
        chosen = [item for i, item in enumerate(items) if i in picked]
    return chosen[:limit] if limit is not None else chosen


def _records(file: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    suffix = file.suffix.lower()
    try:
        with file.open(encoding="utf-8", newline="") as stream:
            if suffix == ".csv":
                reader = csv.DictReader(stream)
                for number, row in enumerate(reader, 2):  # line 1 is the header
                    yield number, {k: v for k, v in row.items() if k is not None}
                return
            for number, text in enumerate(stream, 1):
                if not text.strip():
                    continue
                try:
                    record = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"{file}:{number} is not valid JSON ({exc.msg})") from None
                if not isinstance(record, dict):
                    raise ConfigError(f"{file}:{number} is not a JSON object")
                yield number, record
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file} is not UTF-8 text") from None


def _pick(record: Mapping[str, Any], wanted: str | None, defaults: tuple[str, ...], what: str, where: str) -> Any:
    if wanted is not None:
        if wanted not in record:
            raise ConfigError(f"{where} has no field {wanted!r} (fields: {', '.join(map(str, record))})")
        return record[wanted]
    for name in defaults:
        if name in record:
            return record[name]
    if what == "answer":
        return None
    raise ConfigError(
        f"{where} has no {what} field (looked for {', '.join(defaults)}; fields: {', '.join(map(str, record))});"
        f" use --{what}-field"
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)


def _item(record: dict[str, Any], fields: Fields, line_id: str, where: str, base: Path) -> Item:
    question = _text(_pick(record, fields.question, QUESTION_FIELDS, "question", where))
    if not question or not question.strip():
        raise ConfigError(f"{where} has an empty question")
    gold = _text(_pick(record, fields.answer, ANSWER_FIELDS, "answer", where))
    item_id = line_id if fields.id is None else _text(_pick(record, fields.id, (), "id", where))
    if item_id is None or not item_id.strip():
        raise ConfigError(f"{where} has an empty id")
    context = context_path = None
    if fields.context is not None:
        value = _text(record.get(fields.context))  # an item without one has no context
        if value is not None and value.startswith("@"):
            path = (base / value[1:]).expanduser()
            if not path.exists():
                raise ConfigError(f"{where}: the context {value[1:]} does not exist")
            context_path = str(path.resolve())
        else:
            context = value
    return Item(item_id, question, gold, context, context_path, record)
