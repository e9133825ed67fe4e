"""A sandboxed code check: the code in the answer (plus optional tests) must run without error.

The code is the answer's fenced code blocks (```python ... ```, all of them in
order), or the whole answer when it has none. ``tests`` (e.g. ``assert``
lines) run after it. Everything runs through the engine as a ``CallTool`` of
the ``python`` tool (:func:`ponder.tools.python_tool`), so it is budgeted and
traced like any tool call. Each check runs in a fresh namespace, so nothing
from an earlier round (a helper the previous answer defined) can make a later
one pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .. import steps
from ..errors import ConfigError
from ..requests import CallTool
from ..tools import Tool, ToolResult
from .base import Verdict, VerifierGen

_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)


def code_of(answer: str) -> str:
    """The code in ``answer``: its fenced blocks joined, or the whole text."""
    blocks = _FENCE.findall(answer)
    return "\n\n".join(b.strip("\n") for b in blocks) if blocks else answer.strip()


def program(answer: str, tests: str = "") -> str:
    """The code the sandbox runs for one check: the answer's code and the tests, in a fresh namespace."""
    source = code_of(answer) + ("\n\n" + tests.strip("\n") if tests.strip() else "") + "\n"
    return f"exec(compile({source!r}, '<answer>', 'exec'), {{'__name__': '__answer__'}})"


#: the most characters of a failure given back as feedback
MAX_FEEDBACK = 1500
#: the sandbox's own frame (the ``exec(compile(...))`` line that echoes the whole program) and its source line
_CELL_FRAME = re.compile(r'^  File "<cell \d+>", line \d+, in <module>\n(?:    .*\n)?', re.MULTILINE)


def failure_text(observation: str, limit: int = MAX_FEEDBACK) -> str:
    """What a failed run says, as feedback: without the frame that echoes the program the check built
    (the answer's own frames stay), and, when long, its beginning and its end: the end of a traceback
    is the error itself (``3 of 5 examples fail: f(2) returned 3; the question says 4``)."""
    text = _CELL_FRAME.sub("", observation)
    if len(text) <= limit:
        return text
    head = limit // 4
    return text[:head].rstrip() + "\n…\n" + text[len(text) - (limit - head - 3) :].lstrip()


@dataclass(frozen=True)
class CodeCheck:
    """Run the answer's code (and ``tests``) with ``tool`` (a ``python`` tool); pass when nothing fails."""

    tool: Tool
    tests: str = ""
    name: str = "python"

    def __post_init__(self) -> None:
        if self.tool.name != "python" or "code" not in self.tool.parameters.get("properties", {}):
            raise ConfigError(f"CodeCheck needs the python tool (ponder.tools.python_tool), got {self.tool.name!r}")

    @classmethod
    def from_file(cls, tool: Tool, path: str | Path) -> CodeCheck:
        """A check running the tests in the file at ``path``."""
        try:
            tests = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the tests file {path}: {exc.strerror}") from None
        return cls(tool, tests, name=f"tests:{Path(path).name}")

    def check(self, question: str, answer: str) -> VerifierGen:
        if not code_of(answer):
            return Verdict(False, "the answer contains no code")
        result: ToolResult = yield CallTool(self.tool, {"code": program(answer, self.tests)}, kind=steps.VERIFY_CODE)
        if result.ok:
            what = "the tests pass" if self.tests.strip() else "the code runs without error"
            return Verdict(True, what + (f"; output: {result.output[:300]}" if result.output else ""))
        return Verdict(False, "running the code failed: " + failure_text(result.observation))

    def close(self) -> None:
        """Close the tool (and its sandbox, when the tool owns it)."""
        self.tool.close()
