"""``examples``: run the answer's code on the examples its own question gives.

Programming questions show how the function behaves: doctest lines
(``>>> f(3)`` then ``5``) or one-line examples (``f(3) ➞ 5``, ``f(3) == 5``,
``f(3) -> 5``, ``f(3) => 5``). This verifier finds those for the functions the
question defines (``def NAME(``), turns them into checks, and runs the answer's
code with them in the sandbox. It never sees hidden tests: only what the
question already shows, as a programmer would test a draft against the examples
in the docstring (self-debugging with execution feedback, Chen et al. 2023).

An example whose call names something neither Python nor the question defines
(``is_happy(abc) => False``, ``fib4(n)``: prose, not code) is left out: it
cannot be run, and its failure would blame a correct answer.

A failing example goes back as feedback: the call, what it returned, what the
question says. A question with no examples is checked by running the code (it must
define the function without error).
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass

from ..tools import Tool
from .base import VerifierGen
from .code import CodeCheck

#: the most examples taken from one question
MAX_EXAMPLES = 20
#: the most lines an expected value written over several lines may take beyond its first
MAX_WANT_LINES = 5
_DEF = re.compile(r"^\s*def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)
_ARROW = re.compile(r"^\s*(?P<call>[A-Za-z_]\w*\(.*\))\s*(?:➞|==>|=>|->|==|→)\s*(?P<want>.+?)\s*$")

_RUNNER = """
import math as _math
_failures = []
def _same(got, want):
    if isinstance(got, tuple) and len(got) == 1 and not isinstance(want, tuple):
        return _same(got[0], want)  # ("Venus") written for a tuple of one
    if isinstance(got, float) or isinstance(want, float):
        try:
            return _math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9)
        except TypeError:
            return False
    return got == want
for _call, _want_text in _EXAMPLES:
    try:
        _got = eval(_call)
    except Exception as _exc:
        _failures.append(f"{_call} raised {type(_exc).__name__}: {_exc}; the question says {_want_text}")
        continue
    try:
        _ok = _same(_got, eval(_want_text))
    except Exception:
        _ok = repr(_got) == _want_text or str(_got) == _want_text
    if not _ok:
        _failures.append(f"{_call} returned {_got!r}; the question says {_want_text}")
if _failures:
    raise AssertionError(f"{len(_failures)} of {len(_EXAMPLES)} examples fail: " + " | ".join(_failures[:5]))
print(f"all {len(_EXAMPLES)} examples of the question pass")
"""


_BUILTINS = frozenset(dir(builtins))
#: values a docstring may write the way JSON or prose does
_LITERALS = {"true": "True", "false": "False", "null": "None", "none": "None"}


def _runnable(call: str, defined: set[str]) -> bool:
    """Whether ``call`` is Python that names only builtins, the question's functions and the function it
    calls (a question may show examples of a function it asks for without a ``def``)."""
    try:
        tree = ast.parse(call, mode="eval")
    except SyntaxError:
        return False
    called = {tree.body.func.id} if isinstance(tree.body, ast.Call) and isinstance(tree.body.func, ast.Name) else set()
    named = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    return named <= _BUILTINS | defined | called


def _whole(want: str, after: list[str]) -> str | None:
    """The expected value ``want``, continued over the lines ``after`` it while its brackets are open (a
    list written over several lines); None when it never closes within :data:`MAX_WANT_LINES` lines."""
    for extra in range(MAX_WANT_LINES + 1):
        if _balanced(want):
            return want
        if extra == len(after):
            break
        want = want + " " + after[extra].strip()
    return None


def _literal(want: str) -> str:
    """``true``, ``false``, ``null`` (JSON's words, as some docstrings write them) as Python's."""
    return _LITERALS.get(want.strip().lower(), want)


def _result(want: str) -> str:
    """The value a worked example ends with: ``3 - 0 - 1 = 2`` -> ``2`` (the text after its last ``=``,
    when what is before it is an expression and what is after it a value)."""
    before, sep, after = want.rpartition(" = ")
    if sep and _parses(before) and _parses(after.strip()):
        return after.strip()
    return want


def _parses(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
    except SyntaxError:
        return False
    return True


def _balanced(text: str) -> bool:
    """Whether ``text`` closes every bracket it opens (outside quotes)."""
    depth = 0
    quote = ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
    return depth <= 0


def examples(question: str) -> list[tuple[str, str]]:
    """The (call, expected) pairs the question shows for the functions it defines."""
    names = set(_DEF.findall(question))
    lines = question.splitlines()
    found: list[tuple[str, str]] = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(">>>"):
            call = stripped[3:].strip()
            want = _whole(lines[i + 1].strip(), lines[i + 2 :]) if i + 1 < len(lines) else None
            if want and not want.startswith(">>>") and not want.startswith('"""') and _runnable(call, names):
                found.append((call, _literal(want)))
            continue
        match = _ARROW.match(line)
        if match and match.group("call").split("(", 1)[0] in names and _runnable(match.group("call"), names):
            want = _whole(match.group("want"), lines[i + 1 :])
            if want is not None:
                found.append((match.group("call"), _literal(_result(want.rstrip(".,;")))))
    calls_names = [(c, w) for c, w in found if c.split("(", 1)[0].strip() in names or not names]
    return calls_names[:MAX_EXAMPLES]


def example_tests(question: str) -> str:
    """The test code for the question's examples ("" when it shows none)."""
    pairs = examples(question)
    return f"_EXAMPLES = {pairs!r}\n{_RUNNER}" if pairs else ""


@dataclass(frozen=True)
class ExamplesCheck:
    """Run the answer's code with the question's own examples (see module doc) using ``tool`` (``python``)."""

    tool: Tool
    name: str = "examples"

    def check(self, question: str, answer: str) -> VerifierGen:
        return (yield from CodeCheck(self.tool, example_tests(question), name=self.name).check(question, answer))

    def close(self) -> None:
        self.tool.close()
