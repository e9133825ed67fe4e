"""The ``calculator`` tool: exact arithmetic on an expression, never ``eval``.

The expression is parsed with :mod:`ast` and only numbers, parentheses, unary
``+``/``-`` and ``+ - * / // % **`` are evaluated, on :class:`~fractions.Fraction`
values, so ``0.1 + 0.2`` is exactly ``0.3`` and ``7/2`` is ``3.5``.

Accepted spellings (small models write these): ``^`` means power, ``×``/``÷``
mean multiply/divide, and commas are accepted only as thousands separators in
well-formed groups (``1,234,567``; ``1,2`` is refused rather than guessed).

Results: an integer prints as an integer; anything else as a decimal rounded
to 10 places (``0.3333333333``), or in scientific notation when it would round
to zero. A non-integer exponent (``2 ** 0.5``) is computed in floating point
and the result is marked ``(approximate)``. Limits keep a model from asking for
something enormous: 1,000 characters of input, exponents up to 10,000 in size
and results up to 4,000 digits.
"""

from __future__ import annotations

import ast
import math
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from .base import Tool, ToolError, tool
from .grounding import NumberGrounding

MAX_EXPRESSION = 1000
MAX_EXPONENT = 10_000
MAX_DIGITS = 4000
PLACES = 10
_BITS_PER_DIGIT = math.log2(10)
_GROUPED_RE = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?![\d,])")
_BINARY = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}


class _Approximate:
    """Set when a float had to be used (non-integer power)."""

    def __init__(self) -> None:
        self.used = False


def evaluate(expression: str) -> tuple[Fraction, bool]:
    """Return ``(value, approximate)`` for ``expression``; raise ToolError with a clear reason."""
    if len(expression) > MAX_EXPRESSION:
        raise ToolError(f"expression too long: {len(expression)} characters (limit {MAX_EXPRESSION})")
    text = _normalise(expression)
    if not text:
        raise ToolError("empty expression")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"not an arithmetic expression: {exc.msg}") from exc
    except (RecursionError, MemoryError, ValueError) as exc:
        raise ToolError("expression nested too deeply") from exc
    flag = _Approximate()
    try:
        value = _eval(tree.body, text, flag)
    except RecursionError as exc:
        raise ToolError("expression nested too deeply") from exc
    return value, flag.used


def format_number(value: Fraction, places: int = PLACES) -> str:
    """An integer as is; otherwise a decimal rounded to ``places`` places (no trailing zeros)."""
    if value.denominator == 1:
        return str(value.numerator)
    scaled = round(value * 10**places)
    if scaled == 0:  # too small for fixed places: 10 significant digits instead
        exponent = math.floor(math.log10(abs(value.numerator)) - math.log10(value.denominator))
        mantissa = round(value / Fraction(10) ** exponent, places - 1)
        return f"{format_number(mantissa, places - 1)}e{exponent}"
    sign = "-" if scaled < 0 else ""
    whole, frac = divmod(abs(scaled), 10**places)
    digits = str(frac).rjust(places, "0").rstrip("0")
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def _normalise(expression: str) -> str:
    text = expression.strip().rstrip("=").strip()
    text = text.replace("^", "**").replace("×", "*").replace("÷", "/").replace("−", "-")
    text = _GROUPED_RE.sub(lambda m: m.group(0).replace(",", ""), text)
    if "," in text:
        raise ToolError("unsupported: comma (commas are only allowed as thousands separators, like 1,234)")
    return text


def _eval(node: ast.expr, source: str, flag: _Approximate) -> Fraction:
    if isinstance(node, ast.Constant):
        return _number(node, source)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _eval(node.operand, source, flag)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _eval(node.left, source, flag)
        right = _eval(node.right, source, flag)
        return _check_size(_apply(node.op, left, right, flag))
    raise ToolError(f"unsupported: {_describe(node)}")


def _number(node: ast.Constant, source: str) -> Fraction:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolError(f"unsupported: {type(value).__name__} {value!r}")
    if isinstance(value, int):
        return _check_size(Fraction(value))
    literal = ast.get_source_segment(source, node) or repr(value)
    try:  # the literal as written, so 0.1 is exactly 1/10
        exact = Decimal(literal.replace("_", ""))
    except (InvalidOperation, ValueError) as exc:
        raise ToolError(f"unsupported number {literal!r}") from exc
    if not exact.is_finite() or abs(exact.adjusted()) > MAX_DIGITS:
        raise ToolError(f"number out of range: {literal} (at most {MAX_DIGITS} digits)")
    return _check_size(Fraction(exact))


def _apply(op: ast.operator, left: Fraction, right: Fraction, flag: _Approximate) -> Fraction:
    if isinstance(op, ast.Add):
        return left + right
    if isinstance(op, ast.Sub):
        return left - right
    if isinstance(op, ast.Mult):
        return left * right
    if isinstance(op, ast.Pow):
        return _power(left, right, flag)
    if right == 0:
        raise ToolError("division by zero")
    if isinstance(op, ast.Div):
        return left / right
    if isinstance(op, ast.FloorDiv):
        return Fraction(left // right)
    return left % right


def _power(base: Fraction, exponent: Fraction, flag: _Approximate) -> Fraction:
    if exponent.denominator != 1:
        if base < 0:
            raise ToolError("a negative number to a fractional power is not a real number")
        flag.used = True
        try:
            return Fraction(float(base) ** float(exponent))
        except OverflowError as exc:
            raise ToolError("result too large") from exc
    power = exponent.numerator
    if abs(power) > MAX_EXPONENT and abs(base) != 1 and base != 0:
        raise ToolError(f"exponent too large: {power} (limit {MAX_EXPONENT})")
    if base == 0 and power < 0:
        raise ToolError("division by zero")
    bits = max(base.numerator.bit_length(), base.denominator.bit_length()) * abs(power)
    if bits > MAX_DIGITS * _BITS_PER_DIGIT + 64:
        raise ToolError(f"result too large (more than {MAX_DIGITS} digits)")
    return base**power


def _check_size(value: Fraction) -> Fraction:
    bits = max(value.numerator.bit_length(), value.denominator.bit_length())
    if bits > MAX_DIGITS * _BITS_PER_DIGIT:
        raise ToolError(f"result too large (more than {MAX_DIGITS} digits)")
    return value


def _describe(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return f"name {node.id}"
    if isinstance(node, ast.Call):
        func = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "?")
        hint = " (write x**0.5 for a square root)" if func == "sqrt" else ""
        return f"function call {func}(){hint}"
    if isinstance(node, ast.BinOp | ast.UnaryOp):
        return f"operator {type(node.op).__name__}"
    if isinstance(node, ast.Compare):
        return "comparison"
    return type(node).__name__


def _calculator(expression: str) -> str:
    """Evaluate an arithmetic expression exactly.

    Supports + - * / // % ** (or ^), parentheses and decimals, e.g. (1.5 + 2) * 3 or 2**10.

    Args:
        expression: the arithmetic expression, e.g. 123 * 456
    """
    value, approximate = evaluate(expression)
    text = format_number(value)
    return f"{text} (approximate)" if approximate else text


#: GBNF rule for the ReAct Action Input: the characters an expression may use, one line
INPUT_GRAMMAR = "[-0-9.+*/()^%, ]{1,200}"


def calculator_tool() -> Tool:
    """A fresh ``calculator`` tool."""
    made = tool(_calculator, name="calculator")
    made.input_grammar = INPUT_GRAMMAR
    made.grounding = NumberGrounding()  # the numbers of the question and the observations, nothing else
    made.spec = "calculator"
    return made


calculator = calculator_tool()
