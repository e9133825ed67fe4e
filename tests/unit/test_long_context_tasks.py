"""The long-context task suite: generated to size, deterministic, gold answers in the text, exact scorers."""

from __future__ import annotations

import re

import pytest

from ponder.errors import ConfigError
from ponder.tasks.long_context import KINDS, generate, suite


@pytest.mark.parametrize("kind", KINDS)
def test_tasks_have_their_size_and_are_deterministic(kind: str) -> None:
    task = generate(kind, tokens=8000, seed=3)
    assert 0.95 * 32000 <= len(task.context) <= 1.05 * 32000
    assert generate(kind, tokens=8000, seed=3) == task
    assert generate(kind, tokens=8000, seed=4).context != task.context
    assert task.score(" ".join(task.answers)) == 1.0


def test_multi_key_scorer_punishes_distractors() -> None:
    task = generate("multi_key", tokens=4000, seed=1)
    numbers = re.findall(r"special magic number for \w+ is (\d{7})", task.context)
    assert len(numbers) == 4 and task.answers[0] in numbers
    key = re.search(r"number for (\w+) mentioned", task.question)
    assert key is not None and f"for {key.group(1)} is {task.answers[0]}" in task.context
    other = next(n for n in numbers if n != task.answers[0])
    assert task.score(f"It is {task.answers[0]}.") == 1.0
    assert task.score(f"{task.answers[0]} or {other}") == 0.5
    assert task.score("I do not know") == 0.0 and task.score(None) == 0.0


def test_multi_value_needs_every_value() -> None:
    task = generate("multi_value", tokens=4000, seed=2)
    assert len(task.answers) == 4 and all(v in task.context for v in task.answers)
    assert task.score(", ".join(task.answers[:2])) == 0.5
    assert task.exact(", ".join(reversed(task.answers)))


def test_variable_tracking_chain_is_in_order_and_scored_by_names() -> None:
    task = generate("variable_tracking", tokens=4000, seed=5)
    first, *rest = task.answers
    start = re.search(r"value (\d+)", task.question)
    assert start is not None
    assert task.context.index(f"VAR {first} = {start.group(1)}.") < task.context.index(f"VAR {rest[0]} = VAR {first}.")
    for before, after in zip(task.answers, task.answers[1:], strict=False):
        assert f"VAR {after} = VAR {before}." in task.context
    assert task.exact(" ".join(task.answers)) and task.score(" ".join(task.answers[:3])) == 0.75
    assert len(re.findall(r"VAR [A-Z]{5} = \d+\.", task.context)) == 3  # two distractor chains


def test_counting_gold_is_the_exact_count() -> None:
    task = generate("counting", tokens=3000, seed=7)
    label = task.question.split("labelled ")[1].rstrip("?")
    assert task.answers[0] == str(sum(f"| label: {label} |" in line for line in task.context.splitlines()))
    assert task.score(f"There are {task.answers[0]} records.") == 1.0
    assert task.score(f"There are {int(task.answers[0]) + 1} records.") == 0.0


def test_suite_and_bad_arguments() -> None:
    tasks = suite([1000, 2000], per_size=2)
    assert len(tasks) == 2 * len(KINDS) * 2 and {t.kind for t in tasks} == set(KINDS)
    with pytest.raises(ConfigError, match="unknown long-context task"):
        generate("haystack", 1000)
    with pytest.raises(ConfigError, match="at least 200 tokens"):
        generate("multi_key", 10)
    sized = generate("multi_key", 1000, count_tokens=lambda text: len(text.split()))
    assert 0.85 * 1000 <= len(sized.context.split()) <= 1.15 * 1000
