"""The engine package keeps its inside to itself, read from the source with :mod:`ast` (issue 25).

* One class named ``Engine``: the one in ``src/ponder/engine/core.py`` (no copied Protocols of it).
* No module outside ``src/ponder/engine/`` (the rest of the package, the tests, the benchmarks) touches an
  engine's attribute whose name starts with ``_``: neither on an object that reads as an engine
  (``engine._x``, ``self._engine._x``, ``opened.engine._x``, ``getattr(engine, "_x")``) nor, on any
  object but ``self``, a private member the ``Engine`` class declares (or one its old helpers reached for).
* The engine does not know the strategies or the spec: no module of the package imports ``ponder.spec``,
  ``ponder.strategies`` or the builder (``ponder.builder``, ``ponder.run_models``), nor does anything it imports
  (describing a run is the builder's).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from import_graph import graph
from layout import ROOT

PACKAGE = ROOT / "src" / "ponder"
ENGINE = PACKAGE / "engine"
CORE = ENGINE / "core.py"
#: what the engine must not import, directly or through what it imports
FORBIDDEN = ("ponder.spec", "ponder.strategies", "ponder.builder", "ponder.run_models")
#: private members the engine's helpers reached for before the recorder (issue 25), wherever they are looked up
OLD_REACH_INS = {"_emit", "_next_seq", "_take_index", "_model_of", "_role_names", "_history", "_run", "_spec"}


def python_files(*roots: Path) -> Iterator[Path]:
    for root in roots:
        yield from sorted(p for p in root.rglob("*.py") if ".venv" not in p.parts)


@cache
def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def engine_privates() -> set[str]:
    """Every ``_name`` the ``Engine`` class declares: methods, class attributes, ``self._name`` it sets."""
    [engine] = [n for n in ast.walk(parse(CORE)) if isinstance(n, ast.ClassDef) and n.name == "Engine"]
    names = set()
    for node in ast.walk(engine):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not node.name.startswith("__"):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            names.add(node.attr)
        elif isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def reads_as_engine(node: ast.expr) -> bool:
    """``engine``, ``eng``, ``self._engine``, ``opened.engine``, ``Engine(...)``: an object named as an engine."""
    if isinstance(node, ast.Call):
        node = node.func
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return name.lstrip("_").lower() in {"engine", "eng"} or name.lower().endswith("_engine")


def reach_ins(tree: ast.Module, privates: set[str]) -> Iterator[tuple[int, str]]:
    """(line, what) of each reach-in in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            own = isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"}  # a class's own member
            if reads_as_engine(node.value) or (node.attr in privates and not own):
                yield node.lineno, f".{node.attr}"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"getattr", "setattr"}:
            args = node.args
            named = len(args) >= 2 and isinstance(args[1], ast.Constant) and str(args[1].value).startswith("_")
            if named and reads_as_engine(args[0]):
                yield node.lineno, f"{node.func.id}(..., {args[1].value!r})"


def test_only_the_engine_package_core_declares_a_class_named_engine():
    declared = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in python_files(PACKAGE, ROOT / "tests", ROOT / "benchmarks")
        for node in ast.walk(parse(path))
        if isinstance(node, ast.ClassDef) and node.name == "Engine"
    ]
    assert declared == [f"{CORE.relative_to(ROOT)}:{_line_of_engine()}"]


def _line_of_engine() -> int:
    return next(n.lineno for n in ast.walk(parse(CORE)) if isinstance(n, ast.ClassDef) and n.name == "Engine")


def test_nothing_outside_the_engine_package_touches_a_private_member_of_an_engine():
    privates = engine_privates() | OLD_REACH_INS
    outside = [p for p in python_files(PACKAGE, ROOT / "tests", ROOT / "benchmarks") if ENGINE not in p.parents]
    found = [f"{p.relative_to(ROOT)}:{line}: {what}" for p in outside for line, what in reach_ins(parse(p), privates)]
    assert found == []


def test_the_checker_finds_each_form_of_reach_in_and_passes_public_ones():
    probe = ast.parse(
        "engine._emit(run, e)\nself._engine._next_seq()\nopened.engine._cache\nx._take_index()\n"
        "getattr(engine, '_spec')\nEngine(m)._described(s, q)\nengine.model_for('root')\nself._cache.get(k)\n"
    )
    found = sorted(line for line, _ in reach_ins(probe, engine_privates() | OLD_REACH_INS))
    assert found == [1, 2, 3, 4, 5, 6]


def test_the_engine_imports_neither_the_spec_nor_the_strategies():
    edges = graph(PACKAGE)
    engine = sorted(m for m in edges if m == "ponder.engine" or m.startswith("ponder.engine."))
    assert "ponder.engine.core" in engine and "ponder.engine.recorder" in engine
    reached: dict[str, str] = {}  # module -> the engine module whose imports lead to it
    for start in engine:
        stack = [start]
        while stack:
            for target in edges[stack.pop()]:
                if target not in reached:
                    reached[target] = start
                    stack.append(target)
    bad = {m: via for m, via in reached.items() if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)}
    assert bad == {}, f"the engine reaches (module: from which engine module) {bad}"


def test_the_builder_describes_a_run_the_engine_was_given_as_objects():
    import ponder
    from ponder import builder

    assert ponder.Engine.default_describe is builder.describe
    asked: list[str] = []

    def describe(strategy: ponder.Strategy, engine: ponder.Engine, question: str) -> dict[str, str]:
        asked.append(question)
        return {"strategy": strategy.name, "model": engine.model.name}

    events: list[ponder.events.Event] = []
    ponder.Engine(ponder.ScriptedModel(["a"]), sinks=[events.append], describe=describe).run(ponder.Single(), "q")
    assert events[0].spec == {"strategy": "single", "model": "scripted"}  # type: ignore[attr-defined]
    ponder.Engine(ponder.ScriptedModel(["a"]), describe=describe).run(ponder.Single(), "unseen")
    assert asked == ["q"]  # a run without sinks is described for no one
