"""One output constraint, many request dialects: a GBNF grammar read once, emitted as what a server takes.

Strategies describe the shape of a reply once, as a GBNF grammar (the embedded
llama.cpp backend's native form; ``GenerationOptions.grammar``). A remote
server takes other fields, so :class:`Constraint` parses the grammar (the
regular subset strategies write: literals, character classes, rule
references, groups, ``? * + {m,n}``, alternation) and derives:

==============  ===========================================  ======================================
form            what it is                                   sent to
==============  ===========================================  ======================================
``gbnf``        the grammar itself                           llama.cpp (``grammar``), vLLM (grammar)
``choices``     the finite list of replies, when it is one   vLLM (``choice``)
``regex``       an anchored regular expression               vLLM (``regex``), JSON-schema patterns
``schema``      a JSON schema ``{"answer": <string>}``       OpenAI / Ollama ``response_format``
==============  ===========================================  ======================================

A reply constrained by ``schema`` arrives as JSON; :meth:`Constraint.decode`
turns it back into the text the strategy's parser expects (a reply that is
not such JSON is kept as it is, so the parser reports the problem).

>>> c = Constraint.parse('root ::= "yes" | "no"')
>>> c.choices, c.regex
(('yes', 'no'), '^(yes|no)$')
>>> c.decode('{"answer": "no"}')
'no'
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..errors import ConfigError
from .check import read_char

#: the property of the JSON object a schema-constrained reply is wrapped in
ANSWER_KEY = "answer"
_RULE_START = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*::=")
_REGEX_SPECIAL = set("\\^$.|?*+()[]{}")


@dataclass(frozen=True, slots=True)
class _Lit:
    text: str


@dataclass(frozen=True, slots=True)
class _Class:
    body: str  # the inside of [...] as written (GBNF escapes match regex escapes)


@dataclass(frozen=True, slots=True)
class _Ref:
    name: str


@dataclass(frozen=True, slots=True)
class _Seq:
    items: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Alt:
    items: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Rep:
    item: _Node
    low: int
    high: int | None


_Node = _Lit | _Class | _Ref | _Seq | _Alt | _Rep


@dataclass(frozen=True)
class Constraint:
    """A parsed GBNF grammar and the forms derived from it (see the module docs)."""

    gbnf: str
    choices: tuple[str, ...] | None = None
    regex: str | None = None
    schema: dict[str, Any] | None = field(default=None, compare=False)

    @staticmethod
    def parse(gbnf: str) -> Constraint:
        """The constraint of ``gbnf`` (cached). A grammar outside the subset keeps only its ``gbnf`` form."""
        return _parse_cached(gbnf)

    @staticmethod
    def choice(options: Sequence[str]) -> Constraint:
        """The constraint allowing exactly one of ``options`` (its GBNF is what the embedded backend gets).

        >>> print(Constraint.choice(["sure", 'say "no"']).gbnf)
        root ::= "sure" | "say \\"no\\""
        """
        if not options:
            raise ConfigError("a choice constraint needs at least one option")
        return _parse_cached("root ::= " + " | ".join(_gbnf_literal(o) for o in options))

    def decode(self, text: str) -> str:
        """The reply text of a schema-constrained reply (``{"answer": ...}``), else ``text`` unchanged."""
        stripped = text.strip()
        if not stripped.startswith("{"):
            return text
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError:
            return text
        if isinstance(value, dict) and isinstance(value.get(ANSWER_KEY), str):
            return str(value[ANSWER_KEY])
        return text


@lru_cache(maxsize=256)
def _parse_cached(gbnf: str) -> Constraint:
    try:
        rules = _rules(gbnf)
    except ValueError:
        return Constraint(gbnf)  # not the regular subset: llama.cpp and vLLM still take it as it is
    if "root" not in rules:
        raise ConfigError("a GBNF grammar needs a root rule")
    regex_body = _regex(_Ref("root"), rules, ())
    choices = _choices(_Ref("root"), rules, ())
    regex = f"^{regex_body}$" if regex_body is not None else None
    schema = None
    if choices is not None:
        schema = _object({"type": "string", "enum": list(choices)})
    elif regex is not None:
        schema = _object({"type": "string", "pattern": regex})
    return Constraint(gbnf, choices, regex, schema)


def _gbnf_literal(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def _object(answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {ANSWER_KEY: answer},
        "required": [ANSWER_KEY],
        "additionalProperties": False,
    }


# -- parsing --------------------------------------------------------------------


def _rules(text: str) -> dict[str, _Node]:
    bodies: dict[str, str] = {}
    current: str | None = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        start = _RULE_START.match(line)
        if start:
            current = start.group(1)
            bodies[current] = line[start.end() :]
        elif current is not None:
            bodies[current] += " " + line
        else:
            raise ValueError("text before the first rule")
    return {name: _Parser(body).parse() for name, body in bodies.items()}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> _Node:
        node = self._alt()
        self._space()
        if self.pos != len(self.text):
            raise ValueError(f"unexpected {self.text[self.pos :]!r}")
        return node

    def _space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def _peek(self) -> str:
        self._space()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _alt(self) -> _Node:
        items = [self._seq()]
        while self._peek() == "|":
            self.pos += 1
            items.append(self._seq())
        return items[0] if len(items) == 1 else _Alt(tuple(items))

    def _seq(self) -> _Node:
        items: list[_Node] = []
        while self._peek() not in ("", "|", ")"):
            items.append(self._postfix(self._atom()))
        if not items:
            raise ValueError("empty alternative")
        return items[0] if len(items) == 1 else _Seq(tuple(items))

    def _atom(self) -> _Node:
        char = self._peek()
        if char == '"':
            return _Lit(self._string())
        if char == "[":
            return _Class(self._class())
        if char == "(":
            self.pos += 1
            node = self._alt()
            if self._peek() != ")":
                raise ValueError("unclosed group")
            self.pos += 1
            return node
        name = re.match(r"[A-Za-z0-9_-]+", self.text[self.pos :])
        if name is None:
            raise ValueError(f"unexpected {char!r}")
        self.pos += name.end()
        return _Ref(name.group(0))

    def _postfix(self, node: _Node) -> _Node:
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in "?*+":
                self.pos += 1
                node = _Rep(node, 0 if char != "+" else 1, 1 if char == "?" else None)
                continue
            bounds = re.match(r"\{\s*(\d+)\s*(,\s*(\d*)\s*)?\}", self.text[self.pos :])
            if bounds is None:
                break
            self.pos += bounds.end()
            low = int(bounds.group(1))
            high = low if bounds.group(2) is None else (int(bounds.group(3)) if bounds.group(3) else None)
            node = _Rep(node, low, high)
        return node

    def _string(self) -> str:
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text) and self.text[self.pos] != '"':
            code, self.pos = read_char(self.text, self.pos)
            out.append(chr(code))
        if self.pos >= len(self.text):
            raise ValueError("unclosed string")
        self.pos += 1
        return "".join(out)

    def _class(self) -> str:
        start = self.pos + 1
        self.pos = start
        while self.pos < len(self.text) and self.text[self.pos] != "]":
            self.pos += 2 if self.text[self.pos] == "\\" else 1
        if self.pos >= len(self.text):
            raise ValueError("unclosed character class")
        body = self.text[start : self.pos]
        self.pos += 1
        return body


# -- derived forms ----------------------------------------------------------------


def _escape_regex(text: str) -> str:
    out = []
    for char in text:
        if char in _REGEX_SPECIAL:
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        else:
            out.append(char)
    return "".join(out)


def _regex(node: _Node, rules: dict[str, _Node], seen: tuple[str, ...]) -> str | None:
    """A regex for ``node`` (rules inlined), or None for a recursive grammar."""
    if isinstance(node, _Lit):
        return _escape_regex(node.text)
    if isinstance(node, _Class):
        return f"[{node.body}]"
    if isinstance(node, _Ref):
        if node.name in seen or node.name not in rules:
            return None
        inner = _regex(rules[node.name], rules, (*seen, node.name))
        return None if inner is None else f"({inner})" if isinstance(rules[node.name], _Alt) else inner
    if isinstance(node, _Seq | _Alt):
        parts = [_regex(item, rules, seen) for item in node.items]
        if any(p is None for p in parts):
            return None
        if isinstance(node, _Seq):
            return "".join(f"({p})" if isinstance(i, _Alt) else str(p) for p, i in zip(parts, node.items, strict=True))
        return "|".join(str(p) for p in parts)
    inner = _regex(node.item, rules, seen)
    if inner is None:
        return None
    atom = inner if _atomic(node.item, rules) else f"({inner})"
    if (node.low, node.high) == (0, 1):
        return atom + "?"
    if (node.low, node.high) == (0, None):
        return atom + "*"
    if (node.low, node.high) == (1, None):
        return atom + "+"
    high = "" if node.high is None else str(node.high)
    return f"{atom}{{{node.low}{'' if node.high == node.low else ',' + high}}}"


def _atomic(node: _Node, rules: dict[str, _Node]) -> bool:
    if isinstance(node, _Class):
        return True
    if isinstance(node, _Lit):
        return len(node.text) == 1
    if isinstance(node, _Ref):
        target = rules.get(node.name)
        return target is not None and not isinstance(target, _Alt) and _atomic(target, rules)
    return False


def _choices(node: _Node, rules: dict[str, _Node], seen: tuple[str, ...]) -> tuple[str, ...] | None:
    """Every reply ``node`` allows, when that is a short finite list of literals."""
    if isinstance(node, _Lit):
        return (node.text,)
    if isinstance(node, _Ref):
        if node.name in seen or node.name not in rules:
            return None
        return _choices(rules[node.name], rules, (*seen, node.name))
    if isinstance(node, _Alt):
        out: list[str] = []
        for item in node.items:
            part = _choices(item, rules, seen)
            if part is None:
                return None
            out.extend(p for p in part if p not in out)
        return tuple(out) if len(out) <= 64 else None
    if isinstance(node, _Seq):
        combos: list[str] = [""]
        for item in node.items:
            part = _choices(item, rules, seen)
            if part is None or len(combos) * len(part) > 64:
                return None
            combos = [c + p for c in combos for p in part]
        return tuple(combos)
    return None
