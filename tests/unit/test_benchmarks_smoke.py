"""The benchmark scripts still run and print their tables (so the scripts cannot rot).

Only the shape of the output is checked, never a timing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks_smoke_helpers import NUMBER, _load


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
