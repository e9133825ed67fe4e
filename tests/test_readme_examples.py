"""The Python examples of the README and of docs/*.md run as written.

Every fenced ```python block of README.md (and of each page under docs/) is one example, run on its own (a
fresh namespace, in a temporary working directory, with the test run store).
A block whose text contains the marker comment ``# needs the embedded model``
is only compiled: it loads SmolLM2, which unit tests do not. Every other block
must run, so examples use :class:`ponder.ScriptedModel` and ``assert`` what
they claim.
"""

from __future__ import annotations

import re
import sys
import types
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
#: the documents whose examples run: the README, then every page under docs/
DOCUMENTS = (README, *sorted((ROOT / "docs").glob("*.md")))
#: a block containing this comment is compiled but not run
NEEDS_MODEL = "# needs the embedded model"
_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def blocks(document: Path = README) -> list[tuple[int, str]]:
    """(line number, source) of each ```python block of ``document``."""
    text = document.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in _BLOCK.finditer(text)]


def _all_blocks() -> list[tuple[str, int, str]]:
    return [(doc.relative_to(ROOT).as_posix(), line, source) for doc in DOCUMENTS for line, source in blocks(doc)]


def _id(block: tuple[str, int, str]) -> str:
    return f"{block[0]}:{block[1]}"


def test_the_readme_has_runnable_examples() -> None:
    found = blocks()
    runnable = [b for b in found if NEEDS_MODEL not in b[1]]
    assert len(found) >= 10
    assert len(runnable) >= 8


def test_the_architecture_page_has_a_runnable_example() -> None:
    assert any(NEEDS_MODEL not in source for _, source in blocks(ROOT / "docs" / "architecture.md"))


@pytest.mark.parametrize("block", _all_blocks(), ids=_id)
def test_readme_example(block: tuple[str, int, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    document, line, source = block
    code = compile(source, f"{document}:{line}", "exec")
    if NEEDS_MODEL in source:
        pytest.skip("needs the embedded model (compiled only)")
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. IsolationWarning where bubblewrap is missing
        module = types.ModuleType("readme_example")  # a real module, so dataclasses defined in a block work
        monkeypatch.setitem(sys.modules, "readme_example", module)
        exec(code, module.__dict__)
