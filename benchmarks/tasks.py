"""Benchmark tasks: generated arithmetic word problems and GSM8K slices, plus answer checking.

Shared by the benchmark scripts; not part of the package.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ponder.datasets.templated import DEV_SEED, arithmetic

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@dataclass(frozen=True)
class Task:
    question: str
    answer: float


def arithmetic_problems(n: int = 50, seed: int = DEV_SEED) -> list[Task]:
    """``n`` word problems with 2–3 digit numbers and two operations, deterministic for a seed
    (the generator ``ponder generate arithmetic`` uses; seed 2026 is the development set)."""
    return [Task(p.question, float(p.answer)) for p in arithmetic(n, seed)]


def gsm8k(n: int = 50, offset: int = 0, path: Path | None = None) -> list[Task]:
    """The first ``n`` problems (from ``offset``) of GSM8K's test split."""
    path = path or SHARED_DATA / "gsm8k" / "test.jsonl"
    tasks = []
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i < offset:
                continue
            if len(tasks) >= n:
                break
            row = json.loads(line)
            gold = row["answer"].rsplit("####", 1)[1].strip().replace(",", "")
            tasks.append(Task(row["question"], float(gold)))
    return tasks


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def last_number(text: str | None) -> float | None:
    """The last number in ``text`` (commas removed), or None."""
    if not text:
        return None
    found = _NUMBER.findall(text)
    if not found:
        return None
    try:
        return float(found[-1].replace(",", ""))
    except ValueError:
        return None


def correct(answer: str | None, gold: float) -> bool:
    value = last_number(answer)
    return value is not None and abs(value - gold) < 1e-6
