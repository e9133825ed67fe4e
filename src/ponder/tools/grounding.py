"""Grounded tool inputs: what a tool may be given is built from the run's own material.

A small model that calls the calculator rarely fails at choosing the tool; it fails at *copying*: it
drops a term or changes a digit on the way from the question to the Action Input. Grounding closes
that gap. The run's **material** is the text the model has been given (the question, the context,
every observation so far); a tool's :class:`Grounding` turns it into

- a **rule** (GBNF) for the tool's input, so a backend with constrained decoding (the embedded model,
  a llama.cpp server) can only write inputs made of the material's values, and
- a **check** of a finished input, for backends without grammars (or native tool calls): an input that
  uses a value the material does not contain goes back to the model as an observation, uncalled.

:class:`NumberGrounding` grounds arithmetic: an expression of the numbers that occur in the material
(digits as written, ``1,200`` as ``1200``; number words such as ``twelve``, ``dozen``, ``twice``,
``half``, ``percent``) with ``+ - * /`` and parentheses. The calculator has it (``react`` uses it by
default; ``--no-ground`` turns it off). Other tools attach their own ``Grounding`` to
:attr:`ponder.tools.Tool.grounding`; strategies build a :class:`Material` and ask for the rule.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

#: numbers written with digits: 1200, 1,200, 3.5, .5
_DIGITS = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?!\d)|(?<![\w.])\.(\d+)(?!\d)")
#: number words and the value each stands for (English)
_WORDS: dict[str, str] = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13",
    "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18",
    "nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "sixty": "60",
    "seventy": "70", "eighty": "80", "ninety": "90", "hundred": "100", "thousand": "1000",
    "million": "1000000", "dozen": "12", "dozens": "12", "twice": "2", "double": "2", "doubled": "2",
    "triple": "3", "tripled": "3", "thrice": "3", "half": "2", "halves": "2", "quarter": "4",
    "quarters": "4", "percent": "100",
}  # fmt: skip
_WORD = re.compile(r"(?<![\w])(" + "|".join(sorted(map(re.escape, _WORDS), key=len, reverse=True)) + r")(?![\w])", re.I)
#: the most distinct values a rule lists (a long context is cut to its first ones)
MAX_VALUES = 256


@dataclass(frozen=True, slots=True)
class Rule:
    """A GBNF rule body for a tool's input, and the rule definitions it refers to."""

    body: str
    defs: tuple[str, ...] = ()


class Grounding(Protocol):
    """Builds a tool's input rule from the material, and checks an input against it."""

    def rule(self, material: Material, prefix: str) -> Rule | None:
        """The input rule (its helper rules named with ``prefix``), or None when the material gives nothing."""
        ...

    def check(self, text: str, material: Material) -> str | None:
        """Why ``text`` is not grounded in ``material`` (one line for the model), or None when it is."""
        ...


@dataclass(slots=True)
class Material:
    """The text a run has shown its model, in order: the question, the context, the observations."""

    texts: list[str] = field(default_factory=list)
    #: the texts that came from tools (observations), also in ``texts``
    observed: list[str] = field(default_factory=list)

    def add(self, text: str, *, observation: bool = True) -> None:
        self.texts.append(text)
        if observation:
            self.observed.append(text)

    def numbers(self) -> list[str]:
        """The distinct numbers in the material, in order of first appearance, in canonical form."""
        return _distinct(n for text in self.texts for n in numbers_in(text))

    def counts(self) -> Counter[str]:
        """How often each number occurs in the material."""
        return Counter(n for text in self.texts for n in numbers_in(text))

    def signed_numbers(self, texts: Sequence[str] | None = None) -> list[str]:
        """:meth:`numbers` (of ``texts``, default all), a number written negative (``-42``; not the ``3`` of
        ``5 - 3``) with its sign."""
        return _distinct(n for text in (self.texts if texts is None else texts) for n in numbers_in(text, signed=True))


def numbers_in(text: str, *, signed: bool = False) -> list[str]:
    """The numbers ``text`` mentions, in order: digits in canonical form (``1,200`` → ``1200``), then the
    values of its number words. ``signed``: a number written negative (``-42``, not the ``3`` of ``5 - 3``
    or ``5-3``) keeps its sign."""
    found: list[str] = []
    for match in _DIGITS.finditer(text):
        whole, fraction, bare = match.groups()
        number = canonical(f"{whole.replace(',', '')}{fraction or ''}" if whole else f"0.{bare}")
        at = match.start()
        if signed and at > 0 and text[at - 1] == "-" and (at == 1 or text[at - 2] in _BEFORE_SIGN):
            number = f"-{number}"
        found.append(number)
    found += [_WORDS[m.group(1).lower()] for m in _WORD.finditer(text)]
    if "%" in text:
        found.append("100")
    return found


#: what may stand before the minus of a negative number (anything else makes it an operator)
_BEFORE_SIGN = " \t\n(:=[,"


def canonical(number: str) -> str:
    """``007`` → ``7``, ``2.50`` → ``2.5``, ``3.0`` → ``3``: one spelling per value."""
    whole, _, fraction = number.partition(".")
    whole = whole.lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def _distinct(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        seen.setdefault(value, None)
        if len(seen) >= MAX_VALUES:
            break
    return list(seen)


def literal(text: str) -> str:
    """``text`` as a GBNF string literal."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def choice(values: Sequence[str]) -> str:
    """A GBNF alternative of literals, longest first (so ``12`` is not read as ``1`` then ``2``)."""
    return " | ".join(literal(v) for v in sorted(values, key=lambda v: (-len(v), v)))


#: the most states (uses of each number so far) a counted expression rule spells out; past it, any number
#: of the material may be used any number of times
MAX_STATES = 256
#: how deep parentheses may nest in a grounded expression
MAX_DEPTH = 2


@dataclass(frozen=True, slots=True)
class NumberGrounding:
    """Arithmetic expressions of the material's numbers (see the module docs).

    Each number may be used as often as it occurs in the material (``472 + 532`` cannot become
    ``472 + 532 + 472``; a number said twice may be used twice): a small model that copies an expression
    tends to go on repeating its terms. When the material has too many numbers to spell that out
    (:data:`MAX_STATES`), any of them may be used any number of times.
    """

    operators: tuple[str, ...] = ("+", "-", "*", "/")

    def rule(self, material: Material, prefix: str) -> Rule | None:
        counts = material.counts()
        if not counts:
            return None
        values = [v for v in material.numbers() if v in counts]
        ops = " | ".join(literal(f" {op} ") for op in self.operators)
        op = f"{prefix}op"
        states = 1
        for value in values:
            states *= counts[value] + 1
        if states > MAX_STATES:
            return self._free(values, prefix, ops)
        return _counted(values, [counts[v] for v in values], prefix, op, (f"{op} ::= {ops}",))

    def _free(self, values: list[str], prefix: str, ops: str) -> Rule:
        expr, term, num, op = (f"{prefix}expr", f"{prefix}term", f"{prefix}num", f"{prefix}op")
        return Rule(
            expr,
            (
                f"{expr} ::= {term} ({op} {term})*",
                f'{term} ::= {num} | "(" {expr} ")"',
                f"{op} ::= {ops}",
                f"{num} ::= {choice(values)}",
            ),
        )

    def check(self, text: str, material: Material) -> str | None:
        allowed = material.counts()
        used = Counter(canonical(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?|\.\d+", text))
        foreign = [n for n in used if n not in allowed]
        if foreign:
            shown = ", ".join(foreign[:5])
            return (
                f"the input uses {shown}, which the question and the observations do not contain; "
                "use only the numbers given (copy them exactly)"
            )
        repeated = [n for n, k in used.items() if k > allowed[n]]
        if repeated:
            shown = ", ".join(repeated[:5])
            return f"the input uses {shown} more often than the question and the observations give it; use each number once"
        return None


def _counted(values: list[str], limits: list[int], prefix: str, op: str, defs: tuple[str, ...]) -> Rule:
    """Rules that spell out the uses left of each value: ``T`` expects a term, ``O`` follows one."""
    rules: list[str] = list(defs)
    seen: set[tuple[str, tuple[int, ...], int]] = set()
    todo: list[tuple[str, tuple[int, ...], int]] = [("T", tuple(0 for _ in values), 0)]

    def name(kind: str, used: tuple[int, ...], depth: int) -> str:
        return f"{prefix}{kind}{'-'.join(map(str, used))}d{depth}".replace("--", "-")

    def want(kind: str, used: tuple[int, ...], depth: int) -> str:
        if kind == "O" and depth == 0 and all(u >= limit for u, limit in zip(used, limits, strict=True)):
            return ""  # every use spent at the top level: the expression ends here
        key = (kind, used, depth)
        if key not in seen:
            seen.add(key)
            todo.append(key)
        return name(kind, used, depth)

    seen.add(todo[0])
    while todo:
        kind, used, depth = todo.pop()
        left = [i for i, limit in enumerate(limits) if used[i] < limit]
        alts: list[str] = []
        if kind == "T":
            for i in sorted(left, key=lambda i: (-len(values[i]), values[i])):
                after = (*used[:i], used[i] + 1, *used[i + 1 :])
                alts.append(f"{literal(values[i])} {want('O', after, depth)}".rstrip())
            if depth < MAX_DEPTH and len(left) >= 2:
                alts.append(f'"(" {want("T", used, depth + 1)}')
            rules.append(f"{name(kind, used, depth)} ::= {' | '.join(alts)}")
            continue
        if left:
            alts.append(f"{op} {want('T', used, depth)}")
        if depth > 0:
            alts.append(f'")" {want("O", used, depth - 1)}'.rstrip())
        body = " | ".join(alts)
        if depth == 0:
            body = f"({body})?"
        rules.append(f"{name(kind, used, depth)} ::= {body}")
    start = name("T", tuple(0 for _ in values), 0)
    return Rule(start, tuple(rules))


def grounded_text(material: Material, prefix: str) -> Rule:
    """A one-line text whose numbers are all the observations' (signed as written), or the question's
    while no observation has a number: for a final answer after tools computed it, so a sign or a digit
    cannot get lost on the way (and a number of the question is not given as the result)."""
    values = material.signed_numbers(material.observed) or material.signed_numbers()
    text, num, char = (f"{prefix}text", f"{prefix}num", f"{prefix}char")
    rules = [f'{char} ::= [^\\n0-9-] | "-" [^\\n0-9-]']
    if not values:
        return Rule(text, (f"{text} ::= {char}+", *rules))
    rules.append(f"{num} ::= {choice(values)}")
    # a number is followed by a character that is not a digit, so two numbers never join into a third
    return Rule(text, (f"{text} ::= ({char} | {num} {char})+ {num}? | {num}", *rules))
