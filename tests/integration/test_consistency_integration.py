"""consistency: sampling with distinct seeds, extraction, votes, ties, adaptive stopping, concurrency.

These tests start a process, a server or a real model; the others are in tests/unit/test_consistency.py."""

from __future__ import annotations

import pytest

from consistency_helpers import _bench


@pytest.mark.integration
def test_concurrency_benchmark_prints_its_table(capsys):
    assert _bench("concurrency").main(["--samples", "4", "--delay", "0.01", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 4
    assert "| sequential (max_parallel_calls=1), N=4 | 4 | 1 |" in out
    assert "| concurrent (max_parallel_calls=4), N=4 | 4 |" in out
    assert "target: concurrent >= 4× faster than sequential:" in out
