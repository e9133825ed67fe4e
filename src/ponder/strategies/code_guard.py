"""Keeping a small model's code mode on track: the reply grammar, loop detection, the first-turn rule.

* :data:`CODE_GRAMMAR`: each root reply is one fenced ```python block and
  nothing else, wherever the backend takes a GBNF grammar (the embedded
  llama.cpp backend; llama.cpp and vLLM servers through
  :mod:`ponder.models.request_fields`). Inside the block two backticks can
  only be the closing fence and at most one blank line comes at a time: a
  small model that closes with a mistyped fence (```` ``) ````) or pads with
  blank lines is held to a block that ends, not run to its token limit. The
  ``code`` rule is recursive on
  purpose: a recursive grammar has no regular-expression form
  (:class:`~ponder.grammar.constraint.Constraint`), so a server that takes only a JSON
  schema (OpenAI, Ollama) is sent no constraint and answers as before.
* :class:`LoopGuard`: the same reply without code, or the same code with the
  same output, seen again is a repeat; each repeat gets an observation that
  says so, and past ``limit`` repeats the run stops with reason ``loop``.
* :func:`reads_context`: whether a block looks at the input at all (the
  first-turn rule: an answer given on the first turn by code that never read
  the context is refused; a small model's first reply is often a made-up answer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CODE_GRAMMAR = r"""root ::= "```python\n" code "```"
code ::= line code | line "\n" code | line | char char*
line ::= char char* "\n"
char ::= [^`\n] | "`" [^`\n]
"""

#: names through which a block reads the input (the context, the helpers, sub-calls, tools)
_READS = re.compile(r"\b(?:context\w*|grep|peek|llm_query\w*|rlm_query\w*|tools|SHOW_VARS)\b")


def reads_context(code: str) -> bool:
    """Whether ``code`` reads the input (names ``context``, a search helper, a sub-call or a tool)."""
    return _READS.search(code) is not None


def _norm(text: str) -> str:
    return " ".join(text.split())


@dataclass
class LoopGuard:
    """Counts repeats of a reply without code, or of a (code, output) pair (see the module docs)."""

    limit: int = 3
    repeats: int = 0
    _seen: dict[str, int] = field(default_factory=dict)

    def reply(self, turn: int, text: str) -> int | None:
        """A reply without code: the earlier turn it repeats, or None (and it is remembered)."""
        return self._see(turn, "reply\0" + _norm(text))

    def code(self, turn: int, code: str, output: str) -> int | None:
        """A block and its output: the earlier turn with the same pair, or None (and it is remembered)."""
        return self._see(turn, "code\0" + _norm(code) + "\0" + output)

    @property
    def over(self) -> bool:
        """Whether the repeats reached the limit (the run stops with reason ``loop``)."""
        return self.repeats >= self.limit

    def _see(self, turn: int, key: str) -> int | None:
        earlier = self._seen.get(key)
        if earlier is None:
            self._seen[key] = turn
            return None
        self.repeats += 1
        return earlier
