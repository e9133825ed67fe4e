"""The benchmark scripts still run and print their tables (so the scripts cannot rot).

Only the shape of the output is checked, never a timing.
"""

from __future__ import annotations

import importlib.util
import json
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


NUMBER = r"-?\d+\.\d\d"


def test_engine_overhead_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("engine_overhead")
    assert bench.main(["--steps", "20", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "20 steps per run, 1 repeats" in out
    rows = {line.split("|")[1].strip(): line for line in out.splitlines() if line.startswith("| ")}
    assert set(rows) == {
        "configuration",
        "---",
        "bare loop (model.complete)",
        "engine",
        "engine + JSONL trace",
        "engine + max_seconds (each call on a watched thread)",
    }
    assert re.fullmatch(
        rf"\| bare loop \(model\.complete\) \| {NUMBER} \| {NUMBER} \| – \| – \| 1\.00 \|",
        rows["bare loop (model.complete)"],
    )
    for name in ("engine", "engine + JSONL trace"):
        cells = [c.strip() for c in rows[name].strip("|").split("|")]
        assert len(cells) == 6
        assert all(re.fullmatch(NUMBER, c) for c in cells[1:]), rows[name]
        assert float(cells[1]) > 0
    assert re.search(r"target: engine overhead < 50 µs/step: (met|NOT met)", out)


def test_engine_overhead_rejects_bad_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("engine_overhead")
    with pytest.raises(SystemExit) as exc:
        bench.main(["--steps", "0"])
    assert exc.value.code == 2
    assert "--steps and --repeats must be >= 1" in capsys.readouterr().err


def test_aggregate_scores_a_perfect_checker_exactly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from ponder import ScriptedModel
    from ponder.types import Message

    bench = _load("aggregate")

    def checker(messages: list[Message]) -> str:
        content = messages[-1].content
        if "Record:" not in content:
            return "I cannot tell."  # the single pass: no number
        label = re.search(r"labelled (\w+)", content)
        record = content.rsplit("Record:", 1)[1]
        return "yes" if label and f"label: {label.group(1)} " in record else "no"

    sentences = ["The boats rocked in the quiet harbour all night.", "A gull sat on the old stone wall by the sea."]
    out = tmp_path / "aggregate.json"
    rows = bench.evaluate(ScriptedModel(checker), ["1k", "2k"], 2, 0, sentences, tmp_path, out)
    table = capsys.readouterr().out
    lines = [line for line in table.splitlines() if line.startswith("| 1k") or line.startswith("| 2k")]
    assert len(lines) == 2
    for row in rows:
        assert row["recursive_exact"] == 1.0 and row["recursive_mare"] == 0.0
        assert row["recursive_record_accuracy"] == 1.0
        assert row["recursive_predicted"] == row["gold"]
        assert row["single_exact"] == 0.0 and row["single_mare"] == 1.0
    assert "| 100% | 0.000 | 100.0% |" in lines[0]
    assert json.loads(out.read_text()) == rows


def test_serve_load_prints_its_tables(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("serve_load")
    assert bench.main(["--requests", "8", "--clients", "2", "--slow-clients", "2", "--slow-delay", "0.01"]) == 0
    out = capsys.readouterr().out
    rows = {line.split("|")[1].strip() for line in out.splitlines() if line.startswith("| ")}
    assert {"upstream directly", "ponder serve (store on)", "ponder serve --no-store", "--max-concurrent 2"} <= rows
    assert "runs in the store, finished, for the 200s: 2/2" in out


def test_remote_overhead_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("remote_overhead")
    assert bench.main(["--runs", "2", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "2 runs x 1 repeats per row" in out
    rows = [line for line in out.splitlines() if line.startswith("| this checkout |")]
    assert [row.split("|")[2].strip() for row in rows] == list(bench.CONFIGS)
    assert re.fullmatch(rf"\| this checkout \| raw openai loop \| {NUMBER} \| {NUMBER} \| \+0\.00 \| 1\.00 \|", rows[0])


# the recursive REPL benchmarks (tiny sizes)


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
    assert out_png.stat().st_size > 0 and len(json.loads(out_json.read_text())["rows"]) == 4


def test_session_rebuild_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("session_rebuild")
    assert bench.main(["--slow", "0.3", "--slow-cell", "0.2", "--fast", "2", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| rebuild | later question, median s | answers under --max-seconds")
    assert rows[2].startswith("| values kept (now) |") and rows[3].startswith("| every cell run again (before) |")
    assert all(re.fullmatch(rf"\| [^|]+ \| {NUMBER} \| (yes|no \(stopped at the limit\)) \|", r) for r in rows[2:])


def test_code_mode_tuning_prints_its_table_and_writes_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("code_mode_tuning")
    out_file = tmp_path / "rows.jsonl"
    argv = ["--model", "scripted", "--kinds", "counting", "--sizes", "300", "--seeds", "3", "--out", str(out_file)]
    assert bench.main([*argv, "--max-iterations", "2"]) == 0
    out = capsys.readouterr().out
    assert "| counting | 300 |" in out and "0/1" in out  # the echo model writes no code: wrong, and said so
    row = json.loads(out_file.read_text())
    assert row["seed"] == 3 and row["turns"] == 2 and row["score"] == 0.0
    assert bench.parse_seeds("0-2,7") == [0, 1, 2, 7]
    if bench.HAYSTACK.is_dir():  # the task of another wording: its gold code is in its context once
        task = bench.variant("essay_key", 2000, 1)
        assert task.context.count(task.answers[0]) == 1 and task.question.startswith("Which code opens")
