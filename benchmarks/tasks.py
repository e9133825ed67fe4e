"""Benchmark tasks: generated arithmetic word problems and GSM8K slices, plus answer checking.

Shared by the benchmark scripts; not part of the package.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@dataclass(frozen=True)
class Task:
    question: str
    answer: float


# (template, answer) with a: 3 digits, b and c: 2 digits; two operations each.
# Written to differ from the react few-shot examples (other objects, verbs and orders).
_TEMPLATES: list[tuple[str, Callable[[int, int, int], int]]] = [
    (
        "A library has {a} books. It buys {b} new books and then gives {c} books away. How many books does it have now?",
        lambda a, b, c: a + b - c,
    ),
    (
        "A school orders {b} boxes with {c} pencils in each box, and already has {a} pencils. How many pencils does it have?",
        lambda a, b, c: b * c + a,
    ),
    (
        "A baker made {a} cookies, sold {b} of them, and then baked {c} more. How many cookies are there now?",
        lambda a, b, c: a - b + c,
    ),
    (
        "A parking lot has {a} cars. {b} cars leave and {c} more cars leave. How many cars are still in the lot?",
        lambda a, b, c: a - b - c,
    ),
    (
        "A train has {b} cars with {c} seats each. {a} seats are taken. How many seats are free?",
        lambda a, b, c: b * c - a,
    ),
    (
        "Mia saved {a} dollars. She earned {b} dollars on Monday and {c} dollars on Tuesday. How many dollars does she have?",
        lambda a, b, c: a + b + c,
    ),
    (
        "A farmer picked {a} apples. He gave {b} apples to his neighbor and bought {c} more. How many apples does he have?",
        lambda a, b, c: a - b + c,
    ),
    (
        "There are {b} rows of chairs with {c} chairs in each row, plus {a} extra chairs. How many chairs are there?",
        lambda a, b, c: b * c + a,
    ),
]


def arithmetic_problems(n: int = 50, seed: int = 2026) -> list[Task]:
    """``n`` word problems with 2–3 digit numbers and two operations, deterministic for a seed."""
    rng = random.Random(seed)
    tasks = []
    for i in range(n):
        template, fn = _TEMPLATES[i % len(_TEMPLATES)]
        a, b, c = rng.randint(100, 999), rng.randint(10, 99), rng.randint(10, 99)
        tasks.append(Task(template.format(a=a, b=b, c=c), float(fn(a, b, c))))
    return tasks


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
