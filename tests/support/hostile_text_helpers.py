"""Helpers shared by tests/unit/test_hostile_text.py and tests/integration/test_hostile_text_integration.py."""

from __future__ import annotations

import random

_PIECES = [
    "a",
    " ",
    "é",
    "😀",
    "\ud800",
    "\udbff",
    "\udfff",
    "\udc80",
    "\udcff",
    "\ud83d",
    "\ude00",
    "\x00",
    "\x1b[2J",
    "\x1b[H",
    "\x1b]0;pwned\x07",
    "\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "\x9b31m",
    "\x9d0;t\x9c",
    "\r",
    "\r\n",
    "\n",
    "\t",
    "\x7f",
    "\x08",
    "\u202e",
    "\u2066",
    "[/bold]",
    "[link=http://evil.example/]x[/link]",
    "[bold red]",
    ":smile:",
    "\\",
]


def hostile(rng: random.Random, size: int = 14) -> str:
    parts = []
    for _ in range(rng.randint(1, size)):
        parts.append(rng.choice(_PIECES) if rng.random() < 0.7 else chr(rng.randrange(0x110000)))
    return "".join(parts)
