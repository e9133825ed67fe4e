"""The Python examples of the README and of docs/*.md run as written (those that start no process; the
others are in tests/integration/test_readme_examples_integration.py). How blocks are found and run:
tests/support/doc_examples.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from doc_examples import PAGES_WITH_RUNNABLE_EXAMPLES, ROOT, all_blocks, blocks, compiled_only, examples, run_example


def test_the_readme_has_runnable_examples() -> None:
    found = blocks()
    assert len(found) >= 4 and len([b for b in found if not compiled_only(b[1])]) >= 2


def test_the_docs_have_runnable_examples() -> None:
    """The examples moved from the README to docs/ stay there and stay run (none silently dropped)."""
    runnable = [b for b in all_blocks() if not compiled_only(b[2])]
    assert len(runnable) >= 19
    for page in PAGES_WITH_RUNNABLE_EXAMPLES:
        assert any(not compiled_only(source) for _, source in blocks(ROOT / "docs" / f"{page}.md")), page


@pytest.mark.parametrize("block", examples(starting=False))
def test_readme_example(block: tuple[str, int, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_example(block, tmp_path, monkeypatch)
