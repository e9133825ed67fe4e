"""The run flags are data (ponder.spec.run_flags) and strategies' capabilities are registry attributes.

* ``spec_from_flags`` stays a loop over the declarations: radon's cyclomatic complexity at most 10;
* no module outside the recursive strategy's own compares a value with the string ``"recursive"``:
  what a strategy can do (read a context, keep a session, run code) is asked of its registry entry;
* every declaration's destination has a declared access (the server's allowlist reads the same tables),
  and ``ponder ask`` has an option for each shared declaration.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from layout import SRC as SRC_DIR
from ponder.access import CLIENT, OPERATOR
from ponder.errors import ConfigError
from ponder.spec import RunSpec, flags, spec_from_flags
from ponder.spec.run_flags import BY_NAME, RUN_FLAGS, access_of
from ponder.strategies import entries

SRC = SRC_DIR / "ponder"


def test_spec_from_flags_is_a_short_loop() -> None:
    radon = pytest.importorskip("radon.complexity")
    blocks = radon.cc_visit(inspect.getsource(flags))
    scores = {block.name: block.complexity for block in blocks}
    assert "spec_from_flags" in scores
    assert scores["spec_from_flags"] <= 10, scores
    assert all(score <= 10 for score in scores.values() if score), scores  # its helpers too


def _recursive_compares(path: Path) -> list[int]:
    """Lines of ``path`` that compare with the constant "recursive" (==, !=, in, not in, is)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Compare):
            continue
        for side in (node.left, *node.comparators):
            inner = side.elts if isinstance(side, ast.Tuple | ast.List | ast.Set) else [side]
            if any(isinstance(item, ast.Constant) and item.value == "recursive" for item in inner):
                found.append(node.lineno)
    return found


def test_no_recursive_string_compares_outside_its_own_modules() -> None:
    own = {p for p in (SRC / "strategies").glob("recursive*.py")}
    offenders = {
        str(path.relative_to(SRC)): lines
        for path in sorted(SRC.rglob("*.py"))
        if path not in own and (lines := _recursive_compares(path))
    }
    assert offenders == {}


def test_the_compare_finder_finds_compares(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('a = name == "recursive"\nb = name in ("single", "recursive")\nc = f("recursive")\n')
    assert _recursive_compares(sample) == [1, 2]


def test_capabilities_are_registry_attributes() -> None:
    recursive = entries()["recursive"]
    assert recursive.reads_context and recursive.keeps_session
    assert recursive.runs_code is not None and recursive.runs_code.option == "mode"
    others = [e for name, e in entries().items() if name != "recursive"]
    assert not any(e.reads_context or e.keeps_session or e.runs_code for e in others)


def test_every_run_flag_has_a_declared_access() -> None:
    assert {access_of(flag) for flag in RUN_FLAGS} <= {CLIENT, OPERATOR}
    assert access_of(BY_NAME["context_path"]) == OPERATOR  # a path on the server's disk
    assert access_of(BY_NAME["max_calls"]) == CLIENT  # within the operator's limits
    assert access_of(BY_NAME["memory_threshold"]) == CLIENT


def test_ask_has_an_option_for_every_shared_run_flag() -> None:
    from ponder.cli.ask import ask

    names = {param.name for param in ask.params}
    assert {flag.name for flag in RUN_FLAGS if flag.flags} <= names | {"strategy"}
    assert "session" in names and "strategy" in names


def test_flags_over_a_base_change_only_what_was_given() -> None:
    base = RunSpec.from_dict({"strategy": {"strategy": "consistency", "samples": 5}, "budget": {"max_model_calls": 9}})
    values = {"model_spec": "scripted", "max_calls": None, "max_tokens": 100, "samples": 3}
    spec = spec_from_flags(values, {"max_tokens", "samples"}, base)
    assert spec.model().model == base.model().model  # --model not given: the base's
    assert spec.budget.max_model_calls == 9
    assert spec.options.max_tokens == 100
    assert spec.strategy.options["samples"] == 3


def test_a_flag_value_is_checked_where_it_is_declared() -> None:
    with pytest.raises(ConfigError, match="--depth-model takes N=MODEL"):
        spec_from_flags({"depth_models": ("0=scripted",)}, {"depth_models"})
    spec = spec_from_flags({"depth_models": ("2=scripted",), "server_kind": None}, {"depth_models"})
    assert spec.model("depth:2").model == "scripted"
