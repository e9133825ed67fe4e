"""benchmarks/embedded_concurrency.py still parses its flags and prints its table (no model, no timing).

The processes are replaced by made-up outcomes; only the shape of the output is checked.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest

from layout import BENCHMARKS

SCRIPT = BENCHMARKS / "embedded_concurrency.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_embedded_concurrency", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_prints_one_row_per_configuration_and_the_target(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = _load()
    seen: list[tuple[int, str]] = []

    def fake(config, question, steps, timeout):  # type: ignore[no-untyped-def]
        seen.append((config.processes, config.mode))
        base = {"off": 10.0, "lock": 10.0, "split": 10.0}[config.mode]
        per = {"off": 30.0, "lock": 2.0, "split": 1.5}[config.mode] if config.processes > 1 else 1.0
        total = base * per
        cut = config.mode == "off" and config.processes == 2
        return bench.Outcome(
            timeout if cut else total,
            () if cut else (total,) * config.processes,
            () if cut else (6,) * config.processes,
            () if cut else (900,) * config.processes,
            0,
            config.processes if cut else 0,
            0.5,
            0.6,
            0.0,
            0.0,
        )

    monkeypatch.setattr(bench, "run_config", fake)
    assert bench.main(["--counts", "1,2", "--repeats", "2", "--timeout", "100"]) == 0
    out = capsys.readouterr().out
    # alternated: every process count runs each mode once per round, the order rotating
    assert seen[:3] == [(1, "off"), (1, "lock"), (1, "split")]
    assert seen[6:9] == [(1, "lock"), (1, "split"), (1, "off")]
    rows = [line for line in out.splitlines() if line.startswith("| ") and not line.startswith("| ---")]
    assert len(rows) == 1 + 6
    assert rows[0].startswith("| processes | sharing | total wall s |")
    assert "| 2 | off | > 100 | – (4 killed at the timeout) | > 10.00× | – | – |" in out
    assert "| 2 | split | 15.0 | 15.0 / 15.0 | 1.50× | 6 | 900 |" in out
    assert "target: two concurrent runs <= 2.2x one run: off: NOT met (> 10.00x)" in out
    assert "target: two concurrent runs <= 2.2x one run: lock: met (2.00x)" in out
    assert "target: two concurrent runs <= 2.2x one run: split: met (1.50x)" in out
    assert "speed-up over off, 2 processes (total wall): lock > 5.00x, split > 6.67x" in out


def test_rejects_bad_flags(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load()
    for argv in (["--counts", "0"], ["--modes", "both"], ["--counts", "x"]):
        with pytest.raises(SystemExit) as exc:
            bench.main(argv)
        assert exc.value.code == 2
    assert "--modes takes off, lock, split" in capsys.readouterr().err
