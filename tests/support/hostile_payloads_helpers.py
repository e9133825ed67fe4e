"""Helpers shared by tests/unit/test_hostile_payloads.py and tests/integration/test_hostile_payloads_integration.py."""

from __future__ import annotations

import json
import random
import string
from typing import Any

ALPHABET = string.printable + "[]{}()\"'\\,:" * 5 + "éß中\u202e\x00\x1b"


def deep(depth: int, kind: str = "list") -> Any:
    """A value nested ``depth`` levels, built with a loop (no recursion here either)."""
    value: Any = 1
    for _ in range(depth):
        value = [value] if kind == "list" else {"k": value}
    return value


def random_json(rng: random.Random, budget: int = 40) -> Any:
    """A random JSON-ish value: sometimes very deep, sometimes wide, with odd leaves."""
    roll = rng.random()
    if roll < 0.1:
        return deep(rng.choice([5, 33, 100, 1200, 5000]), rng.choice(["list", "dict"]))
    if roll < 0.4 or budget <= 0:
        return rng.choice(
            [None, True, 0, -1, 10**30, 1.5, "", "x", "1+2", "((1))", "[" * 50, "\x00", "a" * 200, "NaN", "../etc"]
        )
    if roll < 0.7:
        return [random_json(rng, budget // 3) for _ in range(rng.randint(0, 4))]
    keys = ["expression", "path", "query", "k", "start_line", "max_lines", "url", "code", "items", "x", ""]
    return {rng.choice(keys): random_json(rng, budget // 3) for _ in range(rng.randint(0, 4))}


def random_text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.2:
        n = rng.choice([10, 999, 1000, 3000, 20_000])
        return rng.choice(["(", "[", "{", '{"expression":' + "["]) * n + rng.choice(["", "1", ")" * n, "]" * n])
    if roll < 0.5:
        try:
            return json.dumps(random_json(rng), default=str)[:60_000]
        except RecursionError:  # the generator made something too deep for json.dumps: use its text
            return "[" * 5000 + "]" * 5000
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 300)))
