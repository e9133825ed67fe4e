"""Which strings a GBNF grammar admits: a small matcher for the grammars' tests.

Covers what ponder's grammars use: string literals, rule references, ``|``, groups, ``? * +``, ``{m,n}``
and character classes. Matching returns the set of end positions each rule can reach from a start
position, memoised per (rule, position), so shared and recursive rules cost little.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

_TOKEN = re.compile(
    r'\s*(?:(?P<lit>"(?:\\.|[^"\\])*")|(?P<cls>\[(?:\\.|[^\]\\])*\])|(?P<name>[a-zA-Z0-9-]+)'
    r"|(?P<rep>\{\d+(?:,\d*)?\})|(?P<op>[|()?*+]))"
)


@dataclass(frozen=True)
class Node:
    kind: str  # lit, cls, ref, seq, alt, rep
    value: object
    low: int = 1
    high: int | None = 1


def _unescape(text: str) -> str:
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape")


def _parse(body: str) -> Node:
    tokens = [m for m in _TOKEN.finditer(body)]
    if "".join(m.group(0) for m in tokens).strip() != body.strip():
        raise ValueError(f"cannot read the rule body {body!r}")
    pos = 0

    def alternatives() -> Node:
        nonlocal pos
        options = [sequence()]
        while pos < len(tokens) and tokens[pos]["op"] == "|":
            pos += 1
            options.append(sequence())
        return options[0] if len(options) == 1 else Node("alt", tuple(options))

    def sequence() -> Node:
        nonlocal pos
        items: list[Node] = []
        while pos < len(tokens) and tokens[pos]["op"] not in ("|", ")"):
            token = tokens[pos]
            pos += 1
            if token["lit"]:
                item = Node("lit", _unescape(token["lit"][1:-1]))
            elif token["cls"]:
                item = Node("cls", re.compile("[" + _unescape(token["cls"][1:-1]) + "]", re.DOTALL))
            elif token["name"]:
                item = Node("ref", token["name"])
            elif token["op"] == "(":
                item = alternatives()
                pos += 1  # ")"
            else:
                raise ValueError(f"unexpected {token.group(0)!r} in {body!r}")
            while pos < len(tokens) and (tokens[pos]["op"] in ("?", "*", "+") or tokens[pos]["rep"]):
                mark = tokens[pos]["op"] or tokens[pos]["rep"]
                pos += 1
                if mark == "?":
                    item = Node("rep", item, 0, 1)
                elif mark == "*":
                    item = Node("rep", item, 0, None)
                elif mark == "+":
                    item = Node("rep", item, 1, None)
                else:
                    low, _, high = mark[1:-1].partition(",")
                    item = Node("rep", item, int(low), int(high) if high else (None if "," in mark else int(low)))
            items.append(item)
        return Node("seq", tuple(items))

    return alternatives()


def rules_of(grammar: str) -> dict[str, Node]:
    bodies: dict[str, str] = {}
    current = None
    for line in grammar.splitlines():
        head = re.match(r"^([a-zA-Z0-9-]+)\s*::=(.*)$", line)
        if head:
            current = head.group(1)
            bodies[current] = head.group(2)
        elif current is not None and line.strip():
            bodies[current] += " " + line.strip()
    return {name: _parse(body) for name, body in bodies.items()}


def admits(grammar: str, text: str, root: str = "root") -> bool:
    rules = rules_of(grammar)

    @cache
    def rule_ends(name: str, at: int) -> frozenset[int]:
        return frozenset(ends(rules[name], at))

    def ends(node: Node, at: int) -> set[int]:
        if node.kind == "lit":
            value = str(node.value)
            return {at + len(value)} if text.startswith(value, at) else set()
        if node.kind == "cls":
            pattern = node.value
            assert isinstance(pattern, re.Pattern)
            return {at + 1} if at < len(text) and pattern.fullmatch(text[at]) else set()
        if node.kind == "ref":
            return set(rule_ends(str(node.value), at))
        if node.kind == "alt":
            out: set[int] = set()
            for option in node.value:  # type: ignore[attr-defined]
                out |= ends(option, at)
            return out
        if node.kind == "seq":
            current = {at}
            for item in node.value:  # type: ignore[attr-defined]
                current = {e for p in current for e in ends(item, p)}
                if not current:
                    break
            return current
        inner = node.value
        assert isinstance(inner, Node)
        reached: set[int] = {at} if node.low == 0 else set()
        frontier, count = {at}, 0
        while frontier and (node.high is None or count < node.high) and count <= len(text) + node.low:
            count += 1
            frontier = {e for p in frontier for e in ends(inner, p)}
            if count >= node.low:
                if node.high is None:
                    frontier -= reached  # a position reached before adds nothing new
                reached |= frontier
        return reached

    return len(text) in rule_ends(root, 0)
