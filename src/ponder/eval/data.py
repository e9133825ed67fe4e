"""Evaluation items from JSONL or CSV files (or a folder of them), and the choice of which to run.

An item is a question, its gold answer, an id and, for ``recursive``, a per-item
context. Which field holds what is set by :class:`Fields`; a field left unset is
looked up among common names (``question``/``input``/``prompt``/``problem``,
``answer``/``gold``/``target``/``label``/``output``). The id is the record's
``id`` when every record of the data has a non-empty one (a string or an
integer) and no two are the same, as the ``ponder generate`` files and most
public datasets do; else the item's line number (``FILE:LINE`` for a folder).
The choice is the whole data's, never per record, and each item says which it
was (:attr:`Item.id_field`), so an evaluation can keep it when it resumes
(:mod:`.manifest`). A context value of the form
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
#: the field that keys the items when every record has a unique one and no other is named
ID_FIELD = "id"
SUFFIXES = (".jsonl", ".csv")


class ItemIdError(ConfigError):
    """A record has no id in the field that keys the items, or an empty one, or another item's."""


@dataclass(frozen=True, slots=True)
class Fields:
    """Which field of a record holds the question, the gold answer, the id and the context (None: the default).

    The default id is ``id`` when every record has a unique non-empty one, else the line number;
    ``line_numbers`` keys the items by line number whatever the records hold (how an evaluation keyed
    so resumes).
    """

    question: str | None = None
    answer: str | None = None
    id: str | None = None
    context: str | None = None
    line_numbers: bool = False

    def __post_init__(self) -> None:
        if self.line_numbers and self.id is not None:
            raise ConfigError(f"items are keyed by line number or by the field {self.id!r}, not both")


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
    #: the record's field the id is (None: the id is the line number)
    id_field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "gold": self.gold,
            "context": self.context,
            "context_path": self.context_path,
            "record": dict(self.record),
            "id_field": self.id_field,
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
    records = [(file, line, record) for file in files for line, record in _records(file)]
    if not records:
        raise ConfigError(f"{root} holds no items")
    id_field = _id_field(fields, [record for _, _, record in records])
    items: list[Item] = []
    seen: dict[str, str] = {}
    for file, line, record in records:
        prefix = f"{file.relative_to(root)}:" if root.is_dir() else ""
        where = f"{file}:{line}"
        item = _item(record, fields, id_field, f"{prefix}{line}", where, file.parent)
        if item.id in seen:
            raise ItemIdError(
                f"item id {item.id!r} appears twice ({seen[item.id]} and {where}); name a unique field with --id-field"
            )
        seen[item.id] = where
        items.append(item)
    return items


def _id_field(fields: Fields, records: list[dict[str, Any]]) -> str | None:
    """The field the items' ids are (None: their line numbers): the one named, else ``id`` when every
    record has a non-empty one and no two are the same."""
    if fields.line_numbers or fields.id is not None:
        return fields.id
    ids = [_own_id(record.get(ID_FIELD)) for record in records]
    if all(ids) and len(set(ids)) == len(ids):
        return ID_FIELD
    return None


def _own_id(value: Any) -> str | None:
    """``value`` as an id, when it is one: a non-blank string or an integer."""
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


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


def _item(record: dict[str, Any], fields: Fields, id_field: str | None, line_id: str, where: str, base: Path) -> Item:
    question = _text(_pick(record, fields.question, QUESTION_FIELDS, "question", where))
    if not question or not question.strip():
        raise ConfigError(f"{where} has an empty question")
    gold = _text(_pick(record, fields.answer, ANSWER_FIELDS, "answer", where))
    if id_field is not None and id_field not in record:
        raise ItemIdError(f"{where} has no field {id_field!r} (fields: {', '.join(map(str, record))})")
    item_id = line_id if id_field is None else _text(record[id_field])
    if item_id is None or not item_id.strip():
        raise ItemIdError(f"{where} has an empty id")
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
    return Item(item_id, question, gold, context, context_path, record, id_field)
