"""Fresh arithmetic problems with exact answers: direct expressions and two-operation word problems.

Two generators, deterministic for a seed:

- :func:`direct`: "What is 347 + 589 - 212?" with 2-4 terms of 2-3 digit numbers and ``+ - *``
  (multiplication binds first, as in Python; at most one ``*`` per question keeps answers readable).
- :func:`word_problems`: two operations each, from templates for every pair of ``+ - *``, in several
  phrasings and orders, with 2- and 3-digit numbers (nothing takes away more than there is).

Seeds name splits: :data:`TUNE` for anything that is tuned (prompts, grammars, variants), and
:data:`HELDOUT`, which no tuning looks at, for the numbers that are reported. Each item is a dict
``{"id", "question", "answer", "kind"}`` (``answer`` an int), ready for JSONL.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ..tools.calculator import evaluate

#: the seed of the split used while tuning
TUNE = 2026
#: the seed of the held-out split (never used while tuning)
HELDOUT = 7919

Item = dict[str, Any]


def _number(rng: random.Random, digits: tuple[int, ...]) -> int:
    d = rng.choice(digits)
    return rng.randint(10 ** (d - 1), 10**d - 1)


def direct(n: int, seed: int = HELDOUT, terms: tuple[int, int] = (2, 4), digits: tuple[int, ...] = (3,)) -> list[Item]:
    """``n`` questions "What is a op b [op c [op d]]?" (see the module docs)."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        count = rng.randint(*terms)
        values = [_number(rng, digits) for _ in range(count)]
        ops: list[str] = []
        for _ in range(count - 1):
            ops.append(rng.choice("+-" if "*" in ops else "+-*"))
        text = str(values[0]) + "".join(f" {op} {v}" for op, v in zip(ops, values[1:], strict=True))
        value, _ = evaluate(text)
        answer = int(value)
        phrasing = rng.choice(("What is {}?", "Compute {}.", "What is the value of {}?", "Calculate {}."))
        items.append(
            {"id": f"direct-{seed}-{i}", "question": phrasing.format(text), "answer": answer, "kind": "direct"}
        )
    return items


# (template, answer) with {a}, {b}, {c}; each pair of operations has several phrasings and orders.
_Template = tuple[str, Callable[[int, int, int], int]]
_TEMPLATES: dict[str, list[_Template]] = {
    "+ +": [
        ("Mia saved {a} dollars. She earned {b} dollars on Monday and {c} dollars on Tuesday. How many dollars does she have now?", lambda a, b, c: a + b + c),
        ("A shelf holds {a} red books, {b} blue books and {c} green books. How many books are on the shelf?", lambda a, b, c: a + b + c),
        ("A bus carried {a} people in the morning, {b} at noon and {c} in the evening. How many people did it carry that day?", lambda a, b, c: a + b + c),
    ],
    "+ -": [
        ("A library has {a} books. It buys {b} new books and then gives {c} books away. How many books does it have now?", lambda a, b, c: a + b - c),
        ("Tom had {a} marbles. His sister gave him {b} more, and he lost {c} of them at school. How many marbles does Tom have?", lambda a, b, c: a + b - c),
        ("A farm had {a} sheep. {b} lambs were born in spring and {c} sheep were sold in summer. How many sheep does the farm have now?", lambda a, b, c: a + b - c),
    ],
    "- +": [
        ("A baker made {a} cookies, sold {c} of them, and then baked {b} more. How many cookies are there now?", lambda a, b, c: a - c + b),
        ("A warehouse stored {a} boxes. {c} boxes were shipped out and then {b} boxes were delivered. How many boxes are in the warehouse?", lambda a, b, c: a - c + b),
        ("Lena had {a} stamps. She traded away {c} stamps and then bought {b} new ones. How many stamps does she have?", lambda a, b, c: a - c + b),
    ],
    "- -": [
        ("A parking lot has {a} cars. {b} cars leave and then {c} more cars leave. How many cars are still in the lot?", lambda a, b, c: a - b - c),
        ("A tank held {a} liters of water. {b} liters were used for cooking and {c} liters for cleaning. How many liters are left?", lambda a, b, c: a - b - c),
        ("A club had {a} dollars. It spent {b} dollars on snacks and {c} dollars on prizes. How many dollars does it have left?", lambda a, b, c: a - b - c),
    ],
    "* +": [
        ("A school orders {b} boxes with {c} pencils in each box, and already has {a} pencils. How many pencils does it have now?", lambda a, b, c: b * c + a),
        ("There are {b} rows of chairs with {c} chairs in each row, plus {a} extra chairs. How many chairs are there?", lambda a, b, c: b * c + a),
        ("A gardener has {a} tulips and plants {b} beds of {c} roses each. How many flowers does she have?", lambda a, b, c: a + b * c),
    ],
    "* -": [
        ("A train has {b} cars with {c} seats each. {a} seats are taken. How many seats are free?", lambda a, b, c: b * c - a),
        ("A shop bought {b} crates of {c} eggs each. {a} eggs broke. How many eggs are left?", lambda a, b, c: b * c - a),
        ("A printer printed {b} pages a minute for {c} minutes, and {a} of the pages were thrown away. How many pages were kept?", lambda a, b, c: b * c - a),
    ],
    "+ *": [
        ("A team had {a} points and scored {b} more. Then its points were multiplied by {c}. How many points does it have?", lambda a, b, c: (a + b) * c),
        ("Each box holds {a} red balls and {b} blue balls. How many balls are in {c} boxes?", lambda a, b, c: (a + b) * c),
    ],
    "- *": [
        ("Each bag had {a} candies, and {b} candies were eaten from every bag. How many candies are left in {c} bags?", lambda a, b, c: (a - b) * c),
        ("A ticket costs {a} cents and there is a discount of {b} cents per ticket. How many cents do {c} tickets cost?", lambda a, b, c: (a - b) * c),
    ],
}  # fmt: skip


def word_problems(n: int, seed: int = HELDOUT, digits: tuple[int, ...] = (2, 3)) -> list[Item]:
    """``n`` two-operation word problems (see the module docs); the pairs of operations take turns."""
    rng = random.Random(seed)
    pairs = list(_TEMPLATES)
    items = []
    for i in range(n):
        pair = pairs[i % len(pairs)]
        template, answer_of = rng.choice(_TEMPLATES[pair])
        multiplies = "*" in pair
        while True:
            a, b = _number(rng, digits), _number(rng, digits)
            c = rng.randint(2, 12) if multiplies else _number(rng, digits)
            if multiplies and pair in ("* +", "* -"):
                b = rng.randint(2, 40)  # "b boxes of c": a count times a small size
            if pair == "- *":
                a, b = max(a, b), min(a, b)
            answer = answer_of(a, b, c)
            takes_first = pair.startswith("-") and a < b + c  # "sold 97 of the 46 cookies"
            if answer >= 0 and not takes_first:
                break
        items.append(
            {
                "id": f"word-{seed}-{i}",
                "question": template.format(a=a, b=b, c=c),
                "answer": answer,
                "kind": f"word {pair}",
            }
        )
    return items
