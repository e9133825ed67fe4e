"""The step vocabulary is declared once: ponder.steps lists every kind, and no producer spells one out."""

from __future__ import annotations

import ast

from layout import SRC
from ponder import steps

PACKAGE = SRC / "ponder"


def test_kinds_lists_every_constant_once():
    constants = {name: value for name, value in vars(steps).items() if name.isupper() and isinstance(value, str)}
    assert set(constants.values()) == steps.KINDS
    assert len(set(constants.values())) == len(constants)
    assert all(name.lower() == value for name, value in constants.items())


def _literal_kinds(tree: ast.AST) -> list[tuple[int, str]]:
    """String literals used as a step kind: ``Record("x", ...)``, ``kind="x"``, ``Generate.samples(m, "x", ...)``."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        candidates = [k.value for k in node.keywords if k.arg == "kind"]
        if name == "Record" and node.args:
            candidates.append(node.args[0])
        if name == "samples" and len(node.args) > 1:
            candidates.append(node.args[1])
        found += [(c.lineno, c.value) for c in candidates if isinstance(c, ast.Constant) and isinstance(c.value, str)]
    return found


def test_producers_use_the_declared_kinds():
    spelled = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name != "steps.py":
            tree = ast.parse(path.read_text(encoding="utf-8"))
            spelled += [f"{path.relative_to(PACKAGE)}:{line}: {kind!r}" for line, kind in _literal_kinds(tree)]
    assert not spelled, "use the constants of ponder.steps:\n" + "\n".join(spelled)


def test_the_literal_finder_sees_each_form():
    tree = ast.parse(
        'Record("vote", "t")\nGenerate.of(m, kind="draft")\nGenerate.samples(m, "sample", 0.7, 0, [1], "s")'
    )
    assert [kind for _, kind in _literal_kinds(tree)] == ["vote", "draft", "sample"]
