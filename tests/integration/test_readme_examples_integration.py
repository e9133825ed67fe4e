"""The Python examples of the README and of docs/*.md that start a process (the sandbox's worker) run as
written. The others: tests/unit/test_readme_examples.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from doc_examples import examples, run_example


@pytest.mark.parametrize("block", examples(starting=True))
def test_readme_example(block: tuple[str, int, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_example(block, tmp_path, monkeypatch)
