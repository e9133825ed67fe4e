"""Check a GBNF grammar the way llama.cpp reads it, before llama.cpp sees it.

llama.cpp's grammar sampler returns nothing for a grammar it cannot read (a syntax error, an undefined
rule, no ``root``, left recursion), and llama-cpp-python uses that nothing: the process dies (SIGSEGV).
A grammar whose rules can never finish, or with a character class that matches nothing, leaves the
sampler without a token it may take. :func:`check_grammar` reads a grammar with llama.cpp's own rules
(the parser of ``llama-grammar.cpp``: literals, character classes, ``.``, rule references, groups,
``* + ? {m,n}`` rewritten into helper rules as llama.cpp does, ``#`` comments) and refuses, with one
line, anything llama.cpp would refuse or could not finish; token syntax (``<...>``) is refused too (ponder
never writes it). :func:`check_grammar` is cached; the embedded backend and the run spec call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..errors import ConfigError

#: the longest grammar ponder passes on (a client of ``ponder serve`` gets less, see ponder.spec.client)
MAX_GRAMMAR = 64 * 1024
#: llama.cpp's own bound on repetitions (``MAX_REPETITION_THRESHOLD``)
MAX_REPETITION = 2000
#: the most rules after repetitions are rewritten (each ``{m,n}`` adds up to n helper rules)
MAX_RULES = 20_000
_UNLIMITED = -1
_MAX_CODE_POINT = 0x10FFFF


@dataclass(frozen=True, slots=True)
class _Chars:
    ranges: tuple[tuple[int, int], ...]
    negated: bool = False

    def empty(self) -> bool:
        if not self.negated:
            return all(lo > hi for lo, hi in self.ranges)
        covered = 0  # does the union of the ranges cover every code point?
        for lo, hi in sorted(r for r in self.ranges if r[0] <= r[1]):
            if lo > covered:
                return False
            covered = max(covered, hi + 1)
        return covered > _MAX_CODE_POINT


@dataclass(frozen=True, slots=True)
class _Ref:
    rule: int


_Element = _Chars | _Ref
_Alternative = list[_Element]


class GrammarError(ConfigError):
    """A grammar llama.cpp would refuse (and crash on), or could not finish."""


@lru_cache(maxsize=256)
def check_grammar(text: str, limit: int = MAX_GRAMMAR) -> None:
    """Nothing for a grammar llama.cpp reads and can always finish; GrammarError (one line) otherwise."""
    if not isinstance(text, str):
        raise GrammarError(f"a grammar must be text, got {type(text).__name__}")
    if len(text) > limit:
        raise GrammarError(f"the grammar is longer than {limit} characters ({len(text)})")
    if "\x00" in text:
        raise GrammarError("the grammar holds a NUL character")
    parser = _Parser(text)
    try:
        parser.parse()
    except _BadGrammarError as exc:
        raise GrammarError(f"invalid GBNF grammar: {exc}") from None
    rules = parser.rules
    for name, index in parser.names.items():
        if index not in rules:
            raise GrammarError(f"invalid GBNF grammar: undefined rule {name!r}")
    if "root" not in parser.names:
        raise GrammarError("invalid GBNF grammar: no root rule")
    if _left_recursive(rules):
        raise GrammarError("invalid GBNF grammar: left recursion (a rule that can start with itself)")
    for alternatives in rules.values():
        for alternative in alternatives:
            if any(isinstance(e, _Chars) and e.empty() for e in alternative):
                raise GrammarError("invalid GBNF grammar: a character class that matches no character")
    dead = sorted(name for name, i in parser.names.items() if i not in _productive(rules))
    if dead:
        raise GrammarError(f"invalid GBNF grammar: rule {dead[0]!r} can never finish (every alternative recurses)")


class _BadGrammarError(Exception):
    pass


class _Parser:
    """llama.cpp's ``llama_grammar_parser`` (parse_rule, parse_alternates, parse_sequence), in Python."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.names: dict[str, int] = {}  # the rules a grammar names (defined or referenced)
        self.symbols = 0
        self.rules: dict[int, list[_Alternative]] = {}

    # -- characters ---------------------------------------------------------------

    def _at(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def _where(self) -> str:
        return f"at {self.text[self.pos : self.pos + 20]!r}" if self.pos < len(self.text) else "at the end"

    def _space(self, newline_ok: bool) -> None:
        while True:
            char = self._at()
            if char in (" ", "\t") or (newline_ok and char in ("\r", "\n")):
                self.pos += 1
            elif char == "#":
                while self._at() not in ("", "\r", "\n"):
                    self.pos += 1
            else:
                return

    def _name(self) -> str:
        start = self.pos
        while _word(self._at()):
            self.pos += 1
        if self.pos == start:
            raise _BadGrammarError(f"expecting a name {self._where()}")
        return self.text[start : self.pos]

    def _int(self) -> int:
        start = self.pos
        while self._at().isdigit() and self._at().isascii():
            self.pos += 1
        if self.pos == start:
            raise _BadGrammarError(f"expecting an integer {self._where()}")
        digits = self.text[start : self.pos]
        return int(digits) if len(digits) <= 12 else 10**12

    def _char(self) -> int:
        try:
            code, self.pos = read_char(self.text, self.pos)
        except ValueError as exc:
            raise _BadGrammarError(f"{exc} {self._where()}" if self._at() else str(exc)) from None
        return code

    # -- rules ------------------------------------------------------------------------

    def _symbol(self, name: str) -> int:
        if name not in self.names:
            self.names[name] = self.symbols
            self.symbols += 1
        return self.names[name]

    def _generated(self) -> int:
        self.symbols += 1
        if self.symbols > MAX_RULES:
            raise _BadGrammarError(f"more than {MAX_RULES} rules once repetitions are written out")
        return self.symbols - 1

    def parse(self) -> None:
        self._space(True)
        while self.pos < len(self.text):
            self._rule()

    def _rule(self) -> None:
        rule = self._symbol(self._name())
        self._space(False)
        if self.text[self.pos : self.pos + 3] != "::=":
            raise _BadGrammarError(f"expecting ::= {self._where()}")
        self.pos += 3
        self._space(True)
        self.rules[rule] = self._alternates(False)
        if self._at() == "\r":
            self.pos += 2 if self._at(1) == "\n" else 1
        elif self._at() == "\n":
            self.pos += 1
        elif self._at():
            raise _BadGrammarError(f"expecting a newline or the end {self._where()}")
        self._space(True)

    def _alternates(self, nested: bool) -> list[_Alternative]:
        alternatives = [self._sequence(nested)]
        while self._at() == "|":
            self.pos += 1
            self._space(True)
            alternatives.append(self._sequence(nested))
        return alternatives

    def _sequence(self, nested: bool) -> _Alternative:
        out: _Alternative = []
        last = len(out)  # where the last symbol starts (a repetition applies to it)
        before = 1  # rules the last symbol stands for (llama.cpp's n_prev_rules)
        while self.pos < len(self.text):
            char = self._at()
            if char == '"':
                self.pos += 1
                last, before = len(out), 1
                while self._at() != '"':
                    code = self._char()
                    out.append(_Chars(((code, code),)))
                self.pos += 1
                self._space(nested)
            elif char == "[":
                self.pos += 1
                negated = self._at() == "^"
                self.pos += negated
                last, before = len(out), 1
                ranges: list[tuple[int, int]] = []
                while self._at() != "]":
                    low = self._char()
                    high = low
                    if self._at() == "-" and self._at(1) not in ("]", ""):
                        self.pos += 1
                        high = self._char()
                    elif self._at() == "-" and self._at(1) == "":
                        raise _BadGrammarError("unexpected end of input")
                    ranges.append((low, high))
                self.pos += 1
                out.append(_Chars(tuple(ranges), negated))
                self._space(nested)
            elif char in ("<", "!"):
                raise _BadGrammarError(f"token syntax (<...>) is not taken {self._where()}")
            elif _word(char):
                ref = self._symbol(self._name())
                self._space(nested)
                last, before = len(out), 1
                out.append(_Ref(ref))
            elif char == "(":
                self.pos += 1
                self._space(True)
                start = self.symbols
                group = self._generated()
                self.rules[group] = self._alternates(True)
                before = max(1, self.symbols - start)
                last = len(out)
                out.append(_Ref(group))
                if self._at() != ")":
                    raise _BadGrammarError(f"expecting ')' {self._where()}")
                self.pos += 1
                self._space(nested)
            elif char == ".":
                last, before = len(out), 1
                out.append(_Chars(((0, _MAX_CODE_POINT),)))
                self.pos += 1
                self._space(nested)
            elif char in "*+?":
                self.pos += 1
                self._space(nested)
                low, high = {"*": (0, _UNLIMITED), "+": (1, _UNLIMITED), "?": (0, 1)}[char]
                before = self._repeat(out, last, before, low, high)
            elif char == "{":
                self.pos += 1
                self._space(nested)
                if not (self._at().isdigit() and self._at().isascii()):
                    raise _BadGrammarError(f"expecting an integer {self._where()}")
                low = self._int()
                self._space(nested)
                high = low
                if self._at() == "}":
                    self.pos += 1
                elif self._at() == ",":
                    self.pos += 1
                    self._space(nested)
                    high = self._int() if self._at().isdigit() and self._at().isascii() else _UNLIMITED
                    self._space(nested)
                    if self._at() != "}":
                        raise _BadGrammarError(f"expecting '}}' {self._where()}")
                    self.pos += 1
                else:
                    raise _BadGrammarError(f"expecting ',' {self._where()}")
                self._space(nested)
                if low > MAX_REPETITION:
                    raise _BadGrammarError(f"more than {MAX_REPETITION} repetitions")
                if high != _UNLIMITED and high > MAX_REPETITION:
                    high = _UNLIMITED
                before = self._repeat(out, last, before, low, high)
            else:
                break
        return out

    def _repeat(self, out: _Alternative, last: int, before: int, low: int, high: int) -> int:
        """llama.cpp's ``handle_repetitions``: S{m,n} -> S x m, then a chain of helper rules."""
        if last == len(out):
            raise _BadGrammarError(f"expecting an item before */+/?/{{ {self._where()}")
        previous = out[last:]
        total = high if high != _UNLIMITED and high > 0 else (low if low > 0 else 1)
        if before * total > MAX_REPETITION:
            raise _BadGrammarError("too many repetitions of a complex item (llama.cpp's bound)")
        if high != _UNLIMITED and high < low:
            raise _BadGrammarError(f"a repetition {{{low},{high}}} with its most below its least")
        del out[last:]
        for _ in range(low):
            out.extend(previous)
        optional = 1 if high == _UNLIMITED else high - low
        chained: int | None = None
        for i in range(optional):
            rule = self._generated()
            body: _Alternative = list(previous)
            if high == _UNLIMITED:
                body.append(_Ref(rule))
            elif i > 0 and chained is not None:
                body.append(_Ref(chained))
            self.rules[rule] = [body, []]
            chained = rule
        if chained is not None:
            out.append(_Ref(chained))
        return before * total


#: the escapes that stand for one character (llama.cpp's ``parse_char``), and the hex escapes' digit counts
_ESCAPES = {"t": 9, "r": 13, "n": 10, "\\": 92, '"': 34, "[": 91, "]": 93, "-": 45}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}


def read_char(text: str, pos: int) -> tuple[int, int]:
    """The code point of the character at ``text[pos]``, escapes read as llama.cpp's ``parse_char`` reads
    them (``\\n``, ``\\"``, ``\\x41``, ``\\u00e9`` ...), and the position after it; ValueError for an
    unknown escape, too few hex digits, or the end of the text."""
    char = text[pos : pos + 1]
    if char == "":
        raise ValueError("unexpected end of input")
    if char != "\\":
        return ord(char), pos + 1
    code = text[pos + 1 : pos + 2]
    if code in _ESCAPES:
        return _ESCAPES[code], pos + 2
    size = _HEX_ESCAPES.get(code)
    if size is None:
        raise ValueError("unknown escape")
    digits = text[pos + 2 : pos + 2 + size]
    if len(digits) != size or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise ValueError(f"expecting {size} hex digits")
    return int(digits, 16), pos + 2 + size


def _word(char: str) -> bool:
    return char != "" and char.isascii() and (char.isalnum() or char == "-")


def _left_recursive(rules: dict[int, list[_Alternative]]) -> bool:
    """llama.cpp's ``llama_grammar_detect_left_recursion``: a cycle through the rules each rule can start
    with (a rule's first references, past those that have an empty alternative)."""
    empty = {r for r, alts in rules.items() if any(not a for a in alts)}
    starts: dict[int, list[int]] = {}
    for rule, alternatives in rules.items():
        firsts: list[int] = []
        for alternative in alternatives:
            for element in alternative:
                if not isinstance(element, _Ref):
                    break
                firsts.append(element.rule)
                if element.rule not in empty:
                    break
        starts[rule] = firsts
    state: dict[int, int] = {}  # 1: on the path, 2: done
    for origin in rules:
        if state.get(origin):
            continue
        stack = [(origin, iter(starts[origin]))]
        state[origin] = 1
        while stack:
            rule, following = stack[-1]
            step = next(following, None)
            if step is None:
                state[rule] = 2
                stack.pop()
            elif state.get(step) == 1:
                return True
            elif not state.get(step):
                state[step] = 1
                stack.append((step, iter(starts.get(step, []))))
    return False


def _productive(rules: dict[int, list[_Alternative]]) -> set[int]:
    """The rules that can finish (derive some finite text): a worklist over the alternatives' references."""
    waiting: dict[int, list[tuple[int, int]]] = {}  # rule -> the (rule, alternative) that reference it
    left: dict[tuple[int, int], int] = {}
    ready: list[int] = []
    for rule, alternatives in rules.items():
        for i, alternative in enumerate(alternatives):
            refs = {e.rule for e in alternative if isinstance(e, _Ref)}
            left[(rule, i)] = len(refs)
            for ref in refs:
                waiting.setdefault(ref, []).append((rule, i))
            if not refs:
                ready.append(rule)
    done: set[int] = set()
    while ready:
        rule = ready.pop()
        if rule in done:
            continue
        done.add(rule)
        for key in waiting.get(rule, []):
            left[key] -= 1
            if left[key] == 0:
                ready.append(key[0])
    return done
