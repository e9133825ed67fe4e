"""``ponder demo``: the side-by-side show ends with its table.

These tests start a process, a server or a real model; the others are in tests/unit/test_demo.py."""

from __future__ import annotations

import pytest

from ponder.cli import main


@pytest.mark.integration
def test_demo_runs_every_part_and_prints_the_table(capsys):
    # the echo model: each part runs through the real machinery, the answers are wrong, the table says so
    assert main(["demo", "-m", "scripted", "--tokens", "8192", "--code-model", "scripted"]) == 0
    out = capsys.readouterr().out
    assert "1. Arithmetic: What is 487 + 356 - 129?" in out and "2. A fact in ~" in out
    assert "3. The same fact, found by code that scripted writes" in out
    table = out[out.index("single pass vs strategies on scripted") :]
    assert "4. A function (HumanEval/90) on scripted" in out and "def next_smallest(lst):" in out
    for run in ("1: single", "1: react+calculator", "2: single", "2: recursive", "3: recursive code", "4: single"):
        assert run in table
    assert "4: verify +examples" in table and table.count("tests fail") == 2
    assert table.count("wrong") >= 2 and "(cannot read it)" in table
    assert "single was not run on the haystack" in out


@pytest.mark.integration
def test_demo_on_the_embedded_model_shows_the_strategies_right(capsys):
    assert main(["demo", "--tokens", "65536", "--code-model", "none"]) == 0  # part 3: test_code_mode_integration
    out = capsys.readouterr().out
    table = out[out.index("single pass vs strategies on smollm2") :]
    rows = {line.split("│")[0].strip(): line for line in table.splitlines() if line.count("│") >= 5}
    assert "right" in rows["1: react+calculator"], table
    assert "right" in rows["2: recursive"], table
