"""The benchmark scripts still run and print their tables (so the scripts cannot rot).

These tests start a process, a server or a real model; the others are in tests/unit/test_benchmarks_smoke.py."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from benchmarks_smoke_helpers import NUMBER, _load


@pytest.mark.integration
def test_serve_load_prints_its_tables(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("serve_load")
    assert bench.main(["--requests", "8", "--clients", "2", "--slow-clients", "2", "--slow-delay", "0.01"]) == 0
    out = capsys.readouterr().out
    rows = {line.split("|")[1].strip() for line in out.splitlines() if line.startswith("| ")}
    assert {"upstream directly", "ponder serve (store on)", "ponder serve --no-store", "--max-concurrent 2"} <= rows
    assert "runs in the store, finished, for the 200s: 2/2" in out


@pytest.mark.integration
def test_serve_responses_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("serve_responses")
    assert bench.main(["--requests", "1"]) == 0
    rows = [line.split("|")[1:-1] for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    cells = {(r[0].strip(), r[1].strip()) for r in rows[2:]}
    assert cells == {(s, route) for s in ("single", "refine") for route in
                     ("chat", "responses", "chat, stream", "responses, stream", "chat, stream, raw",
                      "responses, stream, raw")}  # fmt: skip
    assert all(re.fullmatch(NUMBER, r[4].strip()) for r in rows[2:])


@pytest.mark.integration
def test_remote_overhead_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("remote_overhead")
    assert bench.main(["--runs", "2", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "2 runs x 1 repeats per row" in out
    rows = [line for line in out.splitlines() if line.startswith("| this checkout |")]
    assert [row.split("|")[2].strip() for row in rows] == list(bench.CONFIGS)
    assert re.fullmatch(rf"\| this checkout \| raw openai loop \| {NUMBER} \| {NUMBER} \| \+0\.00 \| 1\.00 \|", rows[0])


# the recursive REPL benchmarks (tiny sizes)


@pytest.mark.integration
def test_repl_throughput_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("repl_throughput")
    assert bench.main(["--tokens", "4000", "--calls", "12", "--delay", "0", "--concurrency", "1,4"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if re.match(r"\| \d+ \|", line)]
    assert len(rows) == 2
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[2] == "12" and cells[-1] == "yes"  # every sub-call made, the count exact


@pytest.mark.integration
def test_long_context_suite_prints_its_table_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("long_context")
    out_json, out_png = tmp_path / "lc.json", tmp_path / "lc.png"
    argv = ["--sizes", "2k", "--per-size", "1", "--modes", "code", "--out", str(out_json), "--plot", str(out_png)]
    assert bench.main(argv) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if re.match(r"\| [a-z_]+ \| 2,000 \| code \|", line)]
    assert len(rows) == 4 and all("| 1/1 |" in r for r in rows)  # the machinery answers every kind exactly
    assert out_png.stat().st_size > 0 and len(json.loads(out_json.read_text())["rows"]) == 4


@pytest.mark.integration
def test_session_rebuild_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("session_rebuild")
    assert bench.main(["--slow", "0.3", "--slow-cell", "0.2", "--fast", "2", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| rebuild | later question, median s | answers under --max-seconds")
    assert rows[2].startswith("| values kept (now) |") and rows[3].startswith("| every cell run again (before) |")
    assert all(re.fullmatch(rf"\| [^|]+ \| {NUMBER} \| (yes|no \(stopped at the limit\)) \|", r) for r in rows[2:])


@pytest.mark.integration
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


# the benchmark against the reference RLM (rlms): its machinery on the scripted models


@pytest.mark.integration
def test_rlm_peer_writes_rows_resumes_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _load("rlm_peer")
    out_dir, png = tmp_path / "rows", tmp_path / "peer.png"
    argv = ["--model", "scripted", "--small", "scripted", "--in-process", "--sizes", "1k", "--seeds", "100"]
    argv += ["--systems", "code,code-smol,plan,flat", "--out-dir", str(out_dir), "--plot", str(png)]
    assert bench.main(argv) == 0
    out = capsys.readouterr().out
    assert "15 trials to run" in out  # 4 kinds x 4 systems, less plan mode's count plan
    assert "skipped: plan/counting at 1,000 tokens" in out
    rows = [json.loads(line) for line in (out_dir / "code.jsonl").read_text().splitlines()]
    assert sorted(r["kind"] for r in rows) == sorted(bench.KINDS)
    for row in rows:  # the scripted root's code and the sub-call reach FINAL on every kind
        assert row["score"] == 1.0 and row["calls"] >= 2 and row["turns"] >= 1, row
        assert row["seed"] == 100 and row["tokens"] == 1000 and row["ponder"]
    flat = [json.loads(line) for line in (out_dir / "flat.jsonl").read_text().splitlines()]
    assert {r["kind"]: r["score"] for r in flat}["multi_key"] == 1.0 and all(r["calls"] == 1 for r in flat)
    table = [line for line in out.splitlines() if line.startswith("| multi_key | 1k |")]
    assert [line.split("|")[3].strip() for line in table] == [
        "ponder code (sub coder)",
        "ponder code (sub smollm2)",
        "ponder plan",
        "flat single pass",
    ]
    assert "| 1 | 100% | 1/1 |" in table[0]
    assert png.stat().st_size > 0

    assert bench.main(argv) == 0  # a rerun finds every trial done
    assert "0 trials to run" in capsys.readouterr().out
    png.unlink()
    assert bench.main([*argv, "--report"]) == 0
    assert "| counting | 1k | ponder code (sub coder) | 1 | 100% |" in capsys.readouterr().out
    assert png.stat().st_size > 0


@pytest.mark.integration
def test_rlm_peer_skips_the_flat_pass_past_the_window_and_kills_a_stuck_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    bench = _load("rlm_peer")
    args = bench.parse(["--model", "scripted", "--systems", "flat", "--sizes", "50k", "--out-dir", str(tmp_path)])
    todo, skipped = bench.plan(args)
    assert todo == [] and skipped == ["flat at 50,000 tokens: larger than the 32k-token window"]
    monkeypatch.setattr(bench, "KILL_GRACE", 0.2)
    row = bench._child([sys.executable, "-c", "import time; time.sleep(30)"], "", 0.1)
    assert row["stop_reason"] == "killed" and row["seconds"] < 10
    row = bench._child([sys.executable, "-c", "raise SystemExit('boom')"], "", 5)
    assert row["stop_reason"] == "crashed" and "boom" in row["error"]
