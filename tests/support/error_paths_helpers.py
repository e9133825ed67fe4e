"""Helpers shared by tests/unit/test_error_paths.py and tests/integration/test_error_paths_integration.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from ponder.cli import main
from ponder.store import RunStore

FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not FULL.exists(), reason="no /dev/full on this system")


def _store_with_runs(path: Path, questions: tuple[str, ...] = ("first", "second")) -> list[str]:
    ids = []
    for question in questions:
        assert main(["ask", question, "-m", "scripted", "--store", str(path), "--json"]) == 0
    with RunStore(path) as store:
        ids = [row["run_id"] for row in store.list_runs()]
    return ids
