"""REPL helpers of ``recursive`` code mode for small code models: search, look, answer.

Defined in the REPL by :data:`HELPERS` (run once at setup, after the bridge's own functions):

* ``grep(pattern, context=None, window=100, limit=20)``: every match of a regular
  expression (case-insensitive; a pattern that is not a valid expression is
  searched as plain text) in ``context`` (default: the REPL's ``context``; a
  list of documents is searched one by one). It returns a list of hits: each a
  ``str`` (the snippet: ``window`` characters either side of the match) with
  ``.offset`` (where the match starts) and ``.doc`` (which document). ``len()``
  is the number of matches (up to :data:`MAX_HITS`); printed, the list shows how
  many matched and the first ``limit`` snippets with their offsets, one a line,
  so a small model sees bounded output whatever it searched for.
* ``peek(start, n=400, context=None)``: ``n`` characters of the text from
  ``start`` (at most :data:`MAX_PEEK`), e.g. around a hit's ``.offset``.
* ``FINAL_VAR(name)``: the answer is the value of the REPL variable ``name``
  (the reference implementation's convention); given a value that names no
  variable (``FINAL_VAR(result)`` instead of ``FINAL_VAR("result")``), that
  value is the answer.
* ``answer``: the dict convention of the reference implementation and Prime
  Intellect's RLM environment: ``answer["content"] = ...`` then
  ``answer["ready"] = True`` ends the run with that content
  (:data:`ANSWER_CHECK` looks after each block).

The prompt lists these with their signatures (``prompts/recursive/code_system.txt``);
a test keeps the two in step.
"""

from __future__ import annotations

#: matches one ``grep`` keeps (``len()`` counts at most this many)
MAX_HITS = 100_000
#: the widest ``window`` and ``peek`` a helper returns, in characters
MAX_WINDOW = 2_000
MAX_PEEK = 20_000
#: the most snippets a printed hit list shows
MAX_SHOWN = 50

#: the names the helpers define (the prompt lists each; SHOW_VARS hides the functions)
NAMES = ("grep", "peek", "FINAL_VAR", "answer")

HELPERS = f'''
import re as _re


class _Hit(str):
    """One grep match: the snippet around it, with .offset (where the match starts) and .doc."""

    def __new__(cls, text, offset, doc):
        hit = super().__new__(cls, text)
        hit.offset, hit.doc = offset, doc
        return hit


class _Hits(list):
    """grep's result: a list of hits, printed as a count and the first snippets with their offsets."""

    shown = 20
    several = False

    def __repr__(self):
        if not self:
            return "0 matches"
        more = len(self) >= {MAX_HITS}
        lines = [f"{{len(self)}}{{'+' if more else ''}} match{{'es' if len(self) != 1 else ''}}" + (
            f" (showing the first {{self.shown}})" if len(self) > self.shown else "") + ":"]
        for hit in self[: self.shown]:
            where = f"doc {{hit.doc}} " if self.several else ""
            lines.append(f"[{{where}}offset {{hit.offset}}] " + " ".join(str.__str__(hit).split()))
        return "\\n".join(lines)

    __str__ = __repr__


def _texts(text):
    text = globals().get("context") if text is None else text
    if isinstance(text, str):
        return [text]
    if isinstance(text, (list, tuple)) and all(isinstance(t, str) for t in text):
        return list(text)
    raise TypeError(f"grep/peek search a str or a list of str, got {{type(text).__name__}}")


def grep(pattern, context=None, window=100, limit=20):
    """Every match of `pattern` (a regex, case-insensitive) in `context` (default: the REPL's context)."""
    if not isinstance(pattern, str) or not pattern:
        raise ValueError("grep(pattern): the pattern must be a non-empty str")
    window = max(0, min(int(window), {MAX_WINDOW}))
    try:
        rx = _re.compile(pattern, _re.IGNORECASE)
    except _re.error:
        rx = _re.compile(_re.escape(pattern), _re.IGNORECASE)
    texts = _texts(context)
    hits = _Hits()
    hits.shown = max(1, min(int(limit), {MAX_SHOWN}))
    hits.several = len(texts) > 1
    for doc, text in enumerate(texts):
        for m in rx.finditer(text):
            if len(hits) >= {MAX_HITS}:
                return hits
            start, end = max(0, m.start() - window), min(len(text), m.end() + window)
            hits.append(_Hit(text[start:end], m.start(), doc))
    return hits


def peek(start, n=400, context=None):
    """`n` characters of `context` (default: the REPL's context) from offset `start`."""
    texts = _texts(context)
    text = texts[0] if len(texts) == 1 else "\\n\\n".join(texts)
    start = max(0, int(start))
    return text[start : start + max(0, min(int(n), {MAX_PEEK}))]


def FINAL_VAR(name):
    """Give the value of the REPL variable `name` as the final answer (a value that names none: itself)."""
    if isinstance(name, str) and name.strip().isidentifier() and name.strip() in globals():
        return FINAL(globals()[name.strip()])
    return FINAL(name)


answer = {{"content": "", "ready": False}}
'''

#: run after each block: the ``answer`` dict, once ready, ends the run with its content
ANSWER_CHECK = """
if isinstance(globals().get("answer"), dict) and globals()["answer"].get("ready"):
    FINAL(globals()["answer"].get("content", ""))
"""

#: run when a session's next question starts: a ready ``answer`` dict of an earlier question is cleared
ANSWER_RESET = """
if isinstance(globals().get("answer"), dict) and globals()["answer"].get("ready"):
    answer = {"content": "", "ready": False}
"""
