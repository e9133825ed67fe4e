"""The Python examples of the README and of docs/*.md, found and run (for tests/unit/test_readme_examples.py
and tests/integration/test_readme_examples_integration.py).

Every fenced ```python block of README.md (and of each page under docs/) is one example, run on its own (a
fresh namespace, in a temporary working directory, with the test run store).
A block whose text contains the marker comment ``# needs the embedded model``
(it loads SmolLM2, which unit tests do not) or ``# needs a server`` (it talks to
a server the reader runs) is only compiled. Every other block must run, so
examples use :class:`ponder.ScriptedModel` and ``assert`` what they claim.
"""

from __future__ import annotations

import re
import sys
import types
import warnings
from pathlib import Path

import pytest

from layout import ROOT

README = ROOT / "README.md"
#: the documents whose examples run: the README, then every page under docs/
DOCUMENTS = (README, *sorted((ROOT / "docs").glob("*.md")))
#: a block containing one of these comments is compiled but not run
NEEDS_MODEL = "# needs the embedded model"
NEEDS_SERVER = "# needs a server"
#: a block using the sandbox, or whose scripted model writes code (code mode runs it in the sandbox),
#: starts the sandbox's worker process: it is an integration test
STARTS_A_PROCESS = ("Sandbox(", "```python")
_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)
#: the docs pages that must keep at least one example that runs
PAGES_WITH_RUNNABLE_EXAMPLES = [
    "architecture",
    "strategies",
    "recursion",
    "tools",
    "models",
    "cli",
    "evaluation",
    "store",
    "security",
]


def compiled_only(source: str) -> bool:
    return NEEDS_MODEL in source or NEEDS_SERVER in source


def blocks(document: Path = README) -> list[tuple[int, str]]:
    """(line number, source) of each ```python block of ``document``."""
    text = document.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in _BLOCK.finditer(text)]


def all_blocks() -> list[tuple[str, int, str]]:
    return [(doc.relative_to(ROOT).as_posix(), line, source) for doc in DOCUMENTS for line, source in blocks(doc)]


def starts_a_process(source: str) -> bool:
    return not compiled_only(source) and any(sign in source for sign in STARTS_A_PROCESS)


def examples(starting: bool) -> list[object]:
    """The blocks that start a process (``starting``) or the others, each with its document and line as id."""
    return [
        pytest.param(block, id=f"{block[0]}:{block[1]}")
        for block in all_blocks()
        if starts_a_process(block[2]) == starting
    ]


def run_example(block: tuple[str, int, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Compile ``block``; run it unless it needs the embedded model or a server."""
    document, line, source = block
    code = compile(source, f"{document}:{line}", "exec")
    if compiled_only(source):
        pytest.skip("needs the embedded model or a server (compiled only)")
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. IsolationWarning where bubblewrap is missing
        module = types.ModuleType("readme_example")  # a real module, so dataclasses defined in a block work
        monkeypatch.setitem(sys.modules, "readme_example", module)
        exec(code, module.__dict__)
