"""The calculator: exact arithmetic, never eval, bounded."""

from __future__ import annotations

from fractions import Fraction

import pytest

from ponder.tools import calculator
from ponder.tools.calculator import evaluate, format_number


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("0.1 + 0.2", "0.3"),
        ("0.1 * 3", "0.3"),
        ("123 * 456", "56088"),
        ("2**10", "1024"),
        ("2^10", "1024"),
        ("7/2", "3.5"),
        ("1/3", "0.3333333333"),
        ("2/3", "0.6666666667"),
        ("-7 // 2", "-4"),
        ("-7 % 3", "2"),
        ("-(3 - 5) * +2", "4"),
        ("(1.5 + 2) * 3", "10.5"),
        ("2 ** -3", "0.125"),
        ("0.5 ** -2", "4"),
        ("-2 ** 2", "-4"),
        ("1e3 + 1.5e-1", "1000.15"),
        ("1,234,567 + 1", "1234568"),
        ("6 × 7 ÷ 2", "21"),
        ("10**-20", "1e-20"),
        ("99999999999999999999 + 1", "100000000000000000000"),
        ("2 + 3 =", "5"),
        ("2 ** 0.5", "1.4142135624 (approximate)"),
    ],
)
def test_exact_results(expression: str, expected: str) -> None:
    result = calculator.invoke({"expression": expression})
    assert result.ok, result.error
    assert result.output == expected


def test_decimal_literals_are_exact_fractions() -> None:
    assert evaluate("0.1 + 0.2") == (Fraction(3, 10), False)
    assert format_number(Fraction(-1, 8)) == "-0.125"
    assert format_number(Fraction(1, 3) * Fraction(1, 10**15)) == "3.333333333e-16"


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        ("x + 1", "unsupported: name x"),
        ("sqrt(2)", "unsupported: function call sqrt() (write x**0.5 for a square root)"),
        ("__import__('os').system('echo hi')", "unsupported: function call system()"),
        ("(1).__class__", "unsupported: Attribute"),
        ("[1]", "unsupported: List"),
        ("1 < 2", "unsupported: comparison"),
        ("True + 1", "unsupported: bool True"),
        ("'a' * 3", "unsupported: str 'a'"),
        ("1j", "unsupported: complex 1j"),
        ("1 & 2", "unsupported: operator BitAnd"),
        ("1,2", "unsupported: comma (commas are only allowed as thousands separators, like 1,234)"),
        ("1/0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("0 ** -1", "division by zero"),
        ("", "empty expression"),
        ("2 +", "not an arithmetic expression: invalid syntax"),
        ("2**100000", "exponent too large: 100000 (limit 10000)"),
        ("9**9**9", "exponent too large: 387420489 (limit 10000)"),
        ("10**5000", "result too large (more than 4000 digits)"),
        ("10**3000 * 10**3000", "result too large (more than 4000 digits)"),
        ("1e999999999", "number out of range: 1e999999999 (at most 4000 digits)"),
        ("(-8) ** (1/3)", "a negative number to a fractional power is not a real number"),
        ("1" * 1001, "expression too long: 1001 characters (limit 1000)"),
        ("-" * 990 + "1", "expression nested too deeply"),
    ],
)
def test_clear_errors(expression: str, error: str) -> None:
    result = calculator.invoke({"expression": expression})
    assert not result.ok
    assert result.error == error


def test_text_protocol_and_wrong_types() -> None:
    assert calculator.invoke_text("12 * 12").output == "144"
    assert calculator.invoke_text('{"expression": "3 * 3"}').output == "9"
    assert calculator.invoke({"expression": 42}).output == "42"  # a number given as the expression
    assert (
        calculator.invoke({"expression": ["1"]}).error
        == "argument 'expression' must be a string, got a list of 1 items"
    )
    assert calculator.invoke({}).error == "missing required argument 'expression'"


def test_input_grammar_compiles_and_admits_expressions() -> None:
    import re

    from llama_cpp.llama_grammar import LlamaGrammar

    rule = calculator.input_grammar
    assert rule is not None
    LlamaGrammar.from_string(f'root ::= "Action Input: " {rule}', verbose=False)
    chars = re.compile(rule.replace("{1,200}", "+"))
    for expression in ("(1.5 + 2) * 3", "2^10 - 1,234 % 7", "-3 // 2"):
        assert chars.fullmatch(expression), expression
