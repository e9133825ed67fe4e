"""Game of 24 arithmetic, checked exactly: steps, final expressions, a solver.

Everything uses :class:`fractions.Fraction`, so ``8 / (3 - 8 / 3)`` is exactly
24 and intermediate results such as ``8/3`` are fine. Expressions are parsed
with :mod:`ast` and evaluated by walking the tree; nothing is ever ``eval``-ed.

A *step* is one line such as ``4 + 9 = 13 (left: 10 13 13)``: two of the
available numbers, an operator, the result and the numbers left afterwards.
:func:`check_step` accepts a step only if it uses available numbers and its
arithmetic (and its ``left`` list, when the model writes one) is right.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from itertools import combinations

TARGET = Fraction(24)
OPS = ("+", "-", "*", "/")

_NUM = r"-?\d+(?:/\d+)?"
_STEP = re.compile(
    rf"^\s*(?:[-*•]\s+|\d+[.)]\s+)?(?P<a>{_NUM})\s*(?P<op>[-+*/])\s*(?P<b>{_NUM})"
    rf"(?:\s*=\s*(?P<c>{_NUM}))?(?:\s*\(\s*left\s*:\s*(?P<left>[^)]*)\))?"
)
_SYMBOLS = str.maketrans({"×": "*", "x": "*", "X": "*", "÷": "/", "−": "-", "–": "-"})


def fmt(value: Fraction) -> str:
    """``6``, ``-5`` or ``8/3``."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def numbers_text(values: Iterable[Fraction]) -> str:
    return " ".join(fmt(v) for v in sorted(values))


def apply(a: Fraction, op: str, b: Fraction) -> Fraction | None:
    """``a op b`` exactly; ``None`` for a division by zero."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return None if b == 0 else a / b


@dataclass(frozen=True, slots=True)
class StepCheck:
    """The verdict on one proposed step; on success ``step`` is its normalised text."""

    ok: bool
    reason: str = ""
    a: Fraction = Fraction(0)
    op: str = "+"
    b: Fraction = Fraction(0)
    result: Fraction = Fraction(0)
    left: tuple[Fraction, ...] = ()

    @property
    def step(self) -> str:
        return f"{fmt(self.a)} {self.op} {fmt(self.b)} = {fmt(self.result)} (left: {numbers_text(self.left)})"


def _parse_numbers(text: str) -> list[Fraction] | None:
    try:
        return [Fraction(t) for t in text.replace(",", " ").split()]
    except (ValueError, ZeroDivisionError):
        return None


def check_step(numbers: Sequence[Fraction], line: str, *, compute: bool = False, check_left: bool = True) -> StepCheck:
    """Check one proposed step against the available ``numbers``.

    With ``compute=True`` only ``a op b`` is read from the line (the program
    works out the result); otherwise the line must state a correct result, and
    a ``(left: ...)`` list, if present and ``check_left``, must be exactly what
    remains (without ``check_left`` the program works out what is left).
    """
    match = _STEP.match(line.translate(_SYMBOLS))
    if match is None:
        return StepCheck(False, "not a step of the form 'a op b = c'")
    try:
        a, b = Fraction(match["a"]), Fraction(match["b"])
    except ZeroDivisionError:
        return StepCheck(False, "a number with a zero denominator")
    op = match["op"]
    pool = Counter(numbers)
    for n in (a, b):
        if pool[n] <= 0:
            return StepCheck(False, f"{fmt(n)} is not available (numbers: {numbers_text(numbers)})")
        pool[n] -= 1
    result = apply(a, op, b)
    if result is None:
        return StepCheck(False, "division by zero")
    left = tuple(sorted([*pool.elements(), result]))
    done = StepCheck(True, "", a, op, b, result, left)
    if compute:
        return done
    if match["c"] is None:
        return StepCheck(False, f"no result given for {fmt(a)} {op} {fmt(b)}")
    try:
        claimed = Fraction(match["c"])
    except ZeroDivisionError:
        return StepCheck(False, "a number with a zero denominator")
    if claimed != result:
        return StepCheck(False, f"{fmt(a)} {op} {fmt(b)} is {fmt(result)}, not {fmt(claimed)}")
    if check_left and match["left"] is not None:
        written = _parse_numbers(match["left"])
        if written is None or sorted(written) != list(left):
            return StepCheck(False, f"the numbers left are {numbers_text(left)}, not {match['left'].strip()}")
    return done


@dataclass(frozen=True, slots=True)
class ExpressionCheck:
    ok: bool
    reason: str = ""
    value: Fraction | None = None


class _InvalidError(Exception):
    pass


def _walk(node: ast.AST, leaves: list[int]) -> Fraction:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        leaves.append(node.value)
        return Fraction(node.value)
    if isinstance(node, ast.BinOp):
        symbol = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}.get(type(node.op))
        if symbol is None:
            raise _InvalidError(f"operator {type(node.op).__name__} is not allowed")
        value = apply(_walk(node.left, leaves), symbol, _walk(node.right, leaves))
        if value is None:
            raise _InvalidError("division by zero")
        return value
    raise _InvalidError(f"{ast.dump(node)[:40]} is not allowed (only integers, + - * / and brackets)")


def check_expression(expression: str, numbers: Sequence[int], target: Fraction = TARGET) -> ExpressionCheck:
    """Is ``expression`` a solution: each of ``numbers`` used exactly once, value exactly ``target``?"""
    text = expression.translate(_SYMBOLS).strip()
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        return ExpressionCheck(False, "not an arithmetic expression")
    leaves: list[int] = []
    try:
        value = _walk(tree.body, leaves)
    except (_InvalidError, RecursionError) as exc:
        return ExpressionCheck(False, str(exc) or "too deeply nested")
    if Counter(leaves) != Counter(numbers):
        used = " ".join(map(str, sorted(leaves)))
        want = " ".join(map(str, sorted(numbers)))
        return ExpressionCheck(False, f"uses {used}, must use {want} exactly once each", value)
    if value != target:
        return ExpressionCheck(False, f"equals {fmt(value)}, not {fmt(target)}", value)
    return ExpressionCheck(True, "", value)


_EXPR = re.compile(r"[\d\s()+\-*/×÷x−]+")


def extract_expression(text: str) -> str | None:
    """The expression a model's answer gives: the text after the last ``Answer:``, minus ``= 24``."""
    lowered = text.lower()
    at = lowered.rfind("answer:")
    tail = text[at + len("answer:") :] if at >= 0 else text
    tail = tail.strip().splitlines()[0] if tail.strip() else ""
    tail = tail.split("=")[0]
    candidates = [m.group().strip() for m in _EXPR.finditer(tail)]
    candidates = [c for c in candidates if any(ch.isdigit() for ch in c) and any(o in c for o in "+-*/×÷x−")]
    return max(candidates, key=len) if candidates else None


def successors(numbers: Sequence[Fraction]) -> Iterator[tuple[str, tuple[Fraction, ...]]]:
    """Every legal step from ``numbers`` (each pair, both orders, each operator) as ``a op b = c`` and the
    numbers left, sorted. Exhaustive; for the solver and analyses."""
    for i, j in combinations(range(len(numbers)), 2):
        rest = [n for k, n in enumerate(numbers) if k not in (i, j)]
        for a, b in ((numbers[i], numbers[j]), (numbers[j], numbers[i])):
            for op in OPS:
                value = apply(a, op, b)
                if value is not None:
                    yield f"{fmt(a)} {op} {fmt(b)} = {fmt(value)}", tuple(sorted([*rest, value]))


@cache
def _solve(numbers: tuple[Fraction, ...]) -> str | None:
    if len(numbers) == 1:
        return "" if numbers[0] == TARGET else None
    for step, left in successors(numbers):
        found = _solve(left)
        if found is not None:
            return step if not found else f"{step}\n{found}"
    return None


def solve(numbers: Iterable[int | Fraction]) -> list[str] | None:
    """One solution as steps (``a op b = c``), or ``None`` if 24 cannot be reached. Exhaustive; for tests and oracles."""
    found = _solve(tuple(sorted(Fraction(n) for n in numbers)))
    if found is None:
        return None
    return found.splitlines()


_PUZZLE_WORDS = re.compile(r"(?i)\b(game of 24|24 game|(make|reach|get|obtain|equal|equals|makes)\s+24)\b")


def parse_puzzle(question: str) -> tuple[int, ...] | None:
    """The numbers of a Game-of-24 question ("Use 4 9 10 13 to make 24", or just "4 9 10 13"), else ``None``."""
    text = question.strip()
    if re.fullmatch(r"\d+(?:[ ,]+\d+){3}", text):
        return tuple(int(n) for n in re.findall(r"\d+", text))
    if not _PUZZLE_WORDS.search(text):
        return None
    found = [int(n) for n in re.findall(r"(?<![\d.])\d+(?![\d.])", _PUZZLE_WORDS.sub(" ", text))]
    if len(found) == 4 and all(0 < n <= 100 for n in found):
        return tuple(found)
    return None
