"""Scripted stand-ins for ``benchmarks/rlm_peer.py --model scripted`` (the smoke test: no real model).

* ``code-root``: writes the code a capable model would for each task kind (a regex over
  ``context``, one ``llm_query`` so the ``sub`` role is called, then ``FINAL``);
* ``reader`` (the ``sub`` role, plan mode and the flat pass): reads its prompt exactly and
  answers the question it finds there.

These measure the benchmark's machinery (rows, resume, table, plot), never a model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import ponder

_KEY = re.compile(r"magic numbers? for (\w+) mentioned")
_START = re.compile(r"assigned the value (\d+)")
_LABEL = re.compile(r"labelled (\w+)\?")


def _question(messages: Sequence[ponder.Message]) -> str:
    text = "\n".join(m.content for m in messages)
    for pattern in (_KEY, _START, _LABEL):
        found = pattern.search(text)
        if found is not None:
            return found.group(0)
    return ""


def _code(question: str) -> str:
    if question.startswith("assigned"):
        start = _START.search(question)
        assert start is not None
        return (
            "import re\n"
            "edges = dict(re.findall(r'VAR ([A-Z]{5}) = (VAR [A-Z]{5}|\\d+)', context))\n"
            f"names, frontier = set(), {{'{start.group(1)}'}}\n"
            "while frontier:\n"
            "    new = {n for n, v in edges.items() if v.removeprefix('VAR ') in frontier} - names\n"
            "    names |= new\n"
            "    frontier = new\n"
            "print(llm_query('Say ok.'))\n"
            "FINAL(' '.join(sorted(names)))"
        )
    if question.startswith("labelled"):
        label = _LABEL.search(question)
        assert label is not None
        return f"print(llm_query('Say ok.'))\nFINAL(str(context.count('| label: {label.group(1)} |')))"
    key = _KEY.search(question)
    name = key.group(1) if key is not None else "nothing"
    return (
        "import re\n"
        f"hits = re.findall(r'numbers? for {name} is (\\d{{7}})', context)\n"
        "print(llm_query('Say ok.'))\n"
        "FINAL(', '.join(hits))"
    )


def code_root(messages: Sequence[ponder.Message]) -> str:
    return f"```python\n{_code(_question(messages))}\n```"


def reader(messages: Sequence[ponder.Message]) -> str:
    """Answer the question found in the prompt from the text there (numbers, names or a count)."""
    text = "\n".join(m.content for m in messages)
    question = _question(messages)
    key = _KEY.search(question)
    if key is not None:
        return ", ".join(re.findall(rf"numbers? for {key.group(1)} is (\d{{7}})", text)) or "none"
    label = _LABEL.search(question)
    if label is not None:
        return str(text.count(f"| label: {label.group(1)} |"))
    return "none"


def scripted_models() -> dict[str, ponder.Model]:
    return {
        "code-root": ponder.ScriptedModel(code_root, name="scripted-code-root"),
        "reader": ponder.ScriptedModel(reader, name="scripted-reader"),
    }
