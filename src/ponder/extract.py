"""Answer extraction: turn a free-text reply into a short key that votes can compare.

An extractor is any function ``text -> str | None`` (``None``: no answer found,
the sample abstains). Built from a spec by :func:`extractor`:

===================  ==========================================================
spec                 what it extracts
===================  ==========================================================
``last_number``      the last number in the text (``1,200`` → ``1200``, ``3.50`` → ``3.5``)
``regex:PATTERN``    the last match of PATTERN (its first group, if it has one)
``answer``           the whole reply, normalised (case, spaces, end punctuation)
``lm``               a model call per sample (done by the strategy, see ``consistency``)
a callable           whatever it returns
===================  ==========================================================

:func:`normalize` makes the keys comparable: numbers are written canonically,
text is case-folded with runs of whitespace collapsed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Sequence
from typing import Any

from . import prompts, steps
from .access import CLIENT, Access
from .errors import ConfigError
from .guards.patterns import user_pattern
from .requests import Batch, Generate, Request
from .types import user

Extractor = Callable[[str], str | None]

#: the spec meaning "ask the model to extract the answer" (handled by the strategy)
LM = "lm"

#: who may choose each kind of extraction (see :mod:`ponder.access`); a pattern runs with a time bound
ACCESS: dict[str, Access] = {"last_number": CLIENT, "answer": CLIENT, "lm": CLIENT, "regex": CLIENT}

_NUMBER = re.compile(r"(?<![\w.])-?\$?\d(?:[\d,]*\d)?(?:\.\d+)?")
_ONLY_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def number_key(text: str) -> str | None:
    """A number written canonically (``"1,200.0"`` → ``"1200"``), or None when ``text`` is not one number."""
    raw = text.strip().replace(",", "").replace("$", "")
    if not _ONLY_NUMBER.fullmatch(raw):
        return None
    value = float(raw)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def normalize(text: str) -> str:
    """The voting key of an extracted answer: a canonical number, or case-folded text with single spaces."""
    cleaned = text.strip().strip("*`\"'").strip()
    cleaned = cleaned.rstrip(".!;:,").strip()
    as_number = number_key(cleaned)
    if as_number is not None:
        return as_number
    return " ".join(cleaned.split()).casefold()


def last_number(text: str) -> str | None:
    """The last number in ``text``, canonical (see :func:`number_key`), or None."""
    found = _NUMBER.findall(text or "")
    for candidate in reversed(found):
        key = number_key(candidate)
        if key is not None:
            return key
    return None


def regex(pattern: str) -> Extractor:
    """An extractor returning the last match of ``pattern`` (its first group when it has groups); the
    pattern runs time-bounded (:mod:`ponder.guards.patterns`): one that runs out of time abstains."""
    compiled = user_pattern(pattern, "extraction pattern")

    def extract(text: str) -> str | None:
        matches = list(compiled.finditer(text or ""))
        if not matches:
            return None
        match = matches[-1]
        value = match.group(1) if compiled.groups else match.group(0)
        return normalize(value) if value and value.strip() else None

    return extract


def whole_answer(text: str) -> str | None:
    """The whole reply as a key (for short answers); None for an empty reply."""
    key = normalize(text or "")
    return key or None


def extractor(spec: str | Extractor) -> Extractor | None:
    """The extractor for ``spec`` (see module doc); None for ``"lm"``, which the strategy runs itself."""
    if callable(spec):
        return spec
    if spec == LM:
        return None
    if spec == "last_number":
        return last_number
    if spec == "answer":
        return whole_answer
    if spec.startswith("regex:"):
        return regex(spec.removeprefix("regex:"))
    raise ConfigError(f"unknown extraction {spec!r} (use last_number, regex:PATTERN, answer or lm)")


def parse_lm_reply(text: str) -> str | None:
    """The answer in an LM extraction reply (its first non-empty line, without an ``Answer:`` label)."""
    for line in (text or "").splitlines():
        line = re.sub(r"^\s*(final\s+)?answer\s*[:=]\s*", "", line, flags=re.IGNORECASE).strip()
        if line and line.casefold() not in {"none", "n/a", "unknown"}:
            return normalize(line)
    return None


def extract_all(
    spec: str | Extractor, question: str, texts: Sequence[str | None], samples: Sequence[int] | None = None
) -> Generator[Request, Any, list[str | None]]:
    """The voting key of each text, as a strategy step (``yield from`` it).

    Programmatic extractors run directly (one that raises, or an empty text,
    gives None: the sample abstains); ``"lm"`` asks the model once per text, in
    one :class:`~ponder.requests.Batch` (steps of kind ``extract``, with the
    sample id in their data).
    """
    fn = extractor(spec)
    if fn is not None:
        return [_safe(fn, t) for t in texts]
    ids = list(samples) if samples is not None else list(range(len(texts)))
    todo = [i for i, t in enumerate(texts) if t and t.strip()]
    asks = tuple(
        Generate.of(
            [user(prompts.render("consistency/extract", question=question, response=str(texts[i]).strip()))],
            kind=steps.EXTRACT,
            stop=("\n",),
            data={"sample": ids[i]},
        )
        for i in todo
    )
    keys: list[str | None] = [None] * len(texts)
    if asks:
        replies = yield Batch(asks)
        for i, reply in zip(todo, replies, strict=True):
            keys[i] = parse_lm_reply(reply.text)
    return keys


def _safe(fn: Extractor, text: str | None) -> str | None:
    if not text:
        return None
    try:
        key = fn(text)
    except Exception:  # a user extractor that cannot read this sample: the sample abstains
        return None
    return normalize(key) if key else None
