"""Templated word problems with exact answers (``ponder generate arithmetic``; the first generator).

Each problem has a 3-digit number and two 2-digit numbers and two operations,
in one of eight templates written to differ from the ``react`` few-shot
examples. A seed gives the same problems every time, so a held-out set is a
seed no prompt or policy was tuned on (the benchmarks' development set is seed
2026, :data:`ponder.datasets.TUNE`). The richer generators are in :mod:`.arithmetic`.

    ponder generate arithmetic --items 30 --seed 7 -o heldout.jsonl
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from .arithmetic import TUNE

#: the seed of the benchmarks' development set (benchmarks/tasks.py); held-out sets use other seeds
DEV_SEED = TUNE

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


@dataclass(frozen=True, slots=True)
class Problem:
    id: str
    question: str
    answer: int


def arithmetic(n: int, seed: int = DEV_SEED) -> list[Problem]:
    """``n`` word problems, deterministic for ``seed`` (see the module docs)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        template, fn = _TEMPLATES[i % len(_TEMPLATES)]
        a, b, c = rng.randint(100, 999), rng.randint(10, 99), rng.randint(10, 99)
        out.append(Problem(f"arith-{seed}-{i + 1}", template.format(a=a, b=b, c=c), fn(a, b, c)))
    return out


def write_jsonl(problems: list[Problem], stream: IO[str]) -> None:
    """One ``{"id", "question", "answer"}`` object per line (what ``ponder eval`` reads by default)."""
    for p in problems:
        stream.write(json.dumps({"id": p.id, "question": p.question, "answer": p.answer}) + "\n")
