"""The recursive REPL benchmarks still run and print their tables (tiny sizes; never a timing)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_repl_throughput_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("repl_throughput")
    assert bench.main(["--tokens", "4000", "--calls", "12", "--delay", "0", "--concurrency", "1,4"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if re.match(r"\| \d+ \|", line)]
    assert len(rows) == 2
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[2] == "12" and cells[-1] == "yes"  # every sub-call made, the count exact


def test_long_context_suite_prints_its_table_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("long_context")
    out_json, out_png = tmp_path / "lc.json", tmp_path / "lc.png"
    argv = ["--sizes", "2k", "--per-size", "1", "--modes", "code", "--out", str(out_json), "--plot", str(out_png)]
    assert bench.main(argv) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if re.match(r"\| [a-z_]+ \| 2,000 \| code \|", line)]
    assert len(rows) == 4 and all("| 1/1 |" in r for r in rows)  # the machinery answers every kind exactly
    assert out_png.stat().st_size > 0 and len(__import__("json").loads(out_json.read_text())["rows"]) == 4
