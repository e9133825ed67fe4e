"""Task definitions for search strategies (``tree``): prompts, step checks, final checks.

========================  ==========================================================
name                      task
========================  ==========================================================
``generic``               free-form questions: thoughts are reasoning steps
``game24``                Game of 24; the model picks ``a op b``, the program computes
``game24-model``          Game of 24; the model writes ``a op b = c (left: ...)`` itself
``game24-result``         Game of 24; the model writes ``a op b = c``, the program tracks what is left
``auto``                  ``game24`` when the question is a Game-of-24 puzzle, else ``generic``
========================  ==========================================================
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .base import Rejected, ThoughtTask
from .game24 import Game24, Game24State
from .game24_math import check_expression, check_step, extract_expression, parse_puzzle, solve
from .generic import Chain, Reasoning

TASKS: dict[str, ThoughtTask[Any]] = {
    "generic": Reasoning(),
    "game24": Game24(),
    "game24-model": Game24(arithmetic="model", name="game24-model"),
    "game24-result": Game24(arithmetic="result", name="game24-result"),
}


def get_task(name: str, question: str = "") -> ThoughtTask[Any]:
    """The task registered under ``name``; ``auto`` picks one from ``question``."""
    if name == "auto":
        return TASKS["game24"] if parse_puzzle(question) is not None else TASKS["generic"]
    try:
        return TASKS[name]
    except KeyError:
        known = ", ".join(["auto", *TASKS])
        raise ConfigError(f"unknown task {name!r} (known: {known})") from None


__all__ = [
    "TASKS",
    "Chain",
    "Game24",
    "Game24State",
    "Reasoning",
    "Rejected",
    "ThoughtTask",
    "check_expression",
    "check_step",
    "extract_expression",
    "get_task",
    "parse_puzzle",
    "solve",
]
