"""Long-context tasks that need no download, each with an exact scorer (RULER- and OOLONG-style).

    >>> task = generate("multi_key", tokens=2000, seed=1)
    >>> task.score(task.answers[0])
    1.0

Four kinds, every one generated from a seed at a given size (tokens are
estimated as ``chars_per_token`` characters, 4 by default; pass a tokenizer's
``count_tokens`` to :func:`generate` to size by it instead):

* ``multi_key`` (RULER NIAH multi-key): several ``The special magic number for
  <key> is <7 digits>.`` needles in filler text; the question asks for one
  key's number. The others are distractors.
* ``multi_value`` (RULER NIAH multi-value): one key has several numbers spread
  over the input; the question asks for all of them.
* ``variable_tracking`` (RULER VT): a chain ``VAR ABCDE = 51234`` ... ``VAR
  FGHIJ = VAR ABCDE`` ... spread over the input, next to distractor chains; the
  question asks which variables end up holding the chain's value.
* ``counting`` (OOLONG-style): labelled records, one per line; the question asks
  how many carry one label.

Scores are exact: the set of numbers (or variable names) in the answer is
compared with the gold set (Jaccard: 1.0 only for exactly the gold set, so
naming a distractor costs), and a count scores 1.0 only when the answer's first
number is the gold count. The filler is synthetic (a fixed vocabulary), so the
tasks are the same on every machine. :func:`suite` makes a list of tasks.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import ConfigError

KINDS = ("multi_key", "multi_value", "variable_tracking", "counting")
LABELS = ("urgent", "billing", "shipping", "feedback", "spam")

_SUBJECTS = (
    "The river",
    "A small town",
    "The old library",
    "Every winter",
    "The market",
    "A quiet road",
    "The harbour",
)
_VERBS = ("carried", "remembered", "welcomed", "crossed", "watched", "gathered", "held")
_OBJECTS = ("the morning light", "a few travellers", "its long history", "the evening bells", "many stories")
_ENDINGS = ("without a sound.", "as it always had.", "for many years.", "before the rain.", "in the cold air.")
_NUMBERS = re.compile(r"\b\d{7}\b")
_NAMES = re.compile(r"\b[A-Z]{5}\b")
_FIRST_INT = re.compile(r"-?\d+")


@dataclass(frozen=True)
class LongTask:
    """One generated task: the context, the question, the gold answers and how to score a reply."""

    kind: str
    context: str
    question: str
    #: the gold answers: one number (multi_key, counting) or several (multi_value, variable_tracking)
    answers: tuple[str, ...]
    seed: int
    tokens: int

    def score(self, answer: str | None) -> float:
        """1.0 for exactly the gold answer(s); partial credit (Jaccard of the sets) for set-valued kinds."""
        text = answer or ""
        if self.kind == "counting":
            found = _FIRST_INT.search(text.replace(",", ""))
            return 1.0 if found is not None and found.group(0) == self.answers[0] else 0.0
        pattern = _NAMES if self.kind == "variable_tracking" else _NUMBERS
        got = set(pattern.findall(text))
        gold = set(self.answers)
        if not got:
            return 0.0
        return len(got & gold) / len(got | gold)

    def exact(self, answer: str | None) -> bool:
        return self.score(answer) == 1.0


def generate(
    kind: str,
    tokens: int,
    seed: int = 0,
    *,
    chars_per_token: float = 4.0,
    count_tokens: Callable[[str], int] | None = None,
) -> LongTask:
    """A task of ``kind`` with a context of about ``tokens`` tokens (see the module docs)."""
    if kind not in KINDS:
        raise ConfigError(f"unknown long-context task {kind!r} (known: {', '.join(KINDS)})")
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 200:
        raise ConfigError(f"a long-context task needs at least 200 tokens, got {tokens!r}")
    ratio = chars_per_token
    if count_tokens is not None:  # measure the tokenizer on a sample of this filler
        sample = " ".join(_sentence(random.Random(seed)) for _ in range(200))
        ratio = len(sample) / max(1, count_tokens(sample))
    chars = int(tokens * ratio)
    rng = random.Random(f"{kind}:{tokens}:{seed}")
    make = {"multi_key": _multi_key, "multi_value": _multi_value, "variable_tracking": _variables, "counting": _count}
    context, question, answers = make[kind](rng, chars)
    return LongTask(kind, context, question, answers, seed, tokens)


def suite(sizes: Sequence[int], per_size: int, kinds: Sequence[str] = KINDS, seed: int = 0) -> list[LongTask]:
    """``per_size`` tasks of every kind at every size, seeds ``seed``, ``seed + 1``, ..."""
    return [generate(k, n, seed + i) for n in sizes for k in kinds for i in range(per_size)]


# -- generators -------------------------------------------------------------------------------


def _sentence(rng: random.Random) -> str:
    return f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_ENDINGS)}"


def _filler(rng: random.Random, chars: int) -> list[str]:
    """Sentences of filler, about ``chars`` characters in all."""
    out: list[str] = []
    size = 0
    while size < chars:
        s = _sentence(rng)
        out.append(s)
        size += len(s) + 1
    return out


def _insert(rng: random.Random, filler: list[str], needles: Sequence[str]) -> str:
    """``filler`` with each needle at its own random position, the needles in their order."""
    positions = sorted(rng.sample(range(len(filler) + 1), k=min(len(needles), len(filler) + 1)))
    out: list[str] = []
    last = 0
    for pos, needle in zip(positions, needles, strict=False):
        out.extend(filler[last:pos])
        out.append(needle)
        last = pos
    out.extend(filler[last:])
    return " ".join(out)


def _number(rng: random.Random, taken: set[str]) -> str:
    while True:
        value = str(rng.randint(1_000_000, 9_999_999))
        if value not in taken:
            taken.add(value)
            return value


def _word(rng: random.Random, taken: set[str]) -> str:
    while True:
        word = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(5, 8)))
        if word not in taken:
            taken.add(word)
            return word


def _multi_key(rng: random.Random, chars: int) -> tuple[str, str, tuple[str, ...]]:
    numbers: set[str] = set()
    keys: set[str] = set()
    pairs = [(_word(rng, keys), _number(rng, numbers)) for _ in range(4)]
    needles = [f"The special magic number for {k} is {v}." for k, v in pairs]
    rng.shuffle(needles)
    key, value = pairs[rng.randrange(len(pairs))]
    context = _insert(rng, _filler(rng, chars), needles)
    return context, f"What is the special magic number for {key} mentioned in the text?", (value,)


def _multi_value(rng: random.Random, chars: int) -> tuple[str, str, tuple[str, ...]]:
    numbers: set[str] = set()
    keys: set[str] = set()
    key = _word(rng, keys)
    values = [_number(rng, numbers) for _ in range(4)]
    other = _word(rng, keys)
    needles = [f"One of the special magic numbers for {key} is {v}." for v in values]
    needles += [f"One of the special magic numbers for {other} is {_number(rng, numbers)}." for _ in range(2)]
    rng.shuffle(needles)
    context = _insert(rng, _filler(rng, chars), needles)
    return context, f"What are all the special magic numbers for {key} mentioned in the text?", tuple(values)


def _variables(rng: random.Random, chars: int) -> tuple[str, str, tuple[str, ...]]:
    names: set[str] = set()

    def name() -> str:
        while True:
            n = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(5))
            if n not in names:
                names.add(n)
                return n

    values: set[str] = set()
    chains = []
    for _ in range(3):  # the asked chain and two distractor chains, each of 4 variables
        start = str(rng.randint(10_000, 99_999))
        while start in values:
            start = str(rng.randint(10_000, 99_999))
        values.add(start)
        chain = [name() for _ in range(4)]
        lines = [f"VAR {chain[0]} = {start}."] + [f"VAR {chain[i]} = VAR {chain[i - 1]}." for i in range(1, 4)]
        chains.append((start, chain, lines))
    filler = _filler(rng, chars)
    # keep each chain's order: interleave the three chains' assignments, in order, at random positions
    order = [c for c, (_, _, lines) in enumerate(chains) for _ in lines]
    rng.shuffle(order)
    cursor = [0, 0, 0]
    needles = []
    for c in order:
        needles.append(chains[c][2][cursor[c]])
        cursor[c] += 1
    context = _insert(rng, filler, needles)
    start, chain, _ = chains[0]
    question = f"Which variables are assigned the value {start}, directly or through other variables? List every one."
    return context, question, tuple(chain)


def _count(rng: random.Random, chars: int) -> tuple[str, str, tuple[str, ...]]:
    weights = [rng.random() + 0.05 for _ in LABELS]
    lines: list[str] = []
    labels: list[str] = []
    size = 0
    while size < chars:
        label = rng.choices(LABELS, weights=weights)[0]
        date = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        line = f"record {len(lines):06d} | {date} | label: {label} | {_sentence(rng)}"
        lines.append(line)
        labels.append(label)
        size += len(line) + 1
    label = rng.choice(sorted(set(labels)))
    return "\n".join(lines), f"How many records are labelled {label}?", (str(labels.count(label)),)
