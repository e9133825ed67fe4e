"""A grounded check: what the answer claims must occur in a given source text.

Two kinds of claim are checked:

* **numbers**: every number in the answer (compared canonically, so ``1,200``
  matches ``1200``) must occur in the source or in the question;
* **quotes**: every span in double quotes (``"..."`` or ``“...”``, at least
  ``min_quote`` characters) must occur in the source, ignoring case and runs
  of whitespace.

An answer that makes no such claim passes (there is nothing to check). The
score is the share of claims that are supported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..extract import number_key
from .base import Verdict, VerifierGen

_NUMBERS = re.compile(r"(?<![\w.])-?\$?\d(?:[\d,]*\d)?(?:\.\d+)?")
_QUOTES = re.compile(r"\"([^\"\n]+)\"|“([^”\n]+)”")


def _numbers(text: str) -> set[str]:
    keys = (number_key(m) for m in _NUMBERS.findall(text))
    return {k for k in keys if k is not None}


def _flat(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass(frozen=True, slots=True)
class Grounded:
    """Check that the answer's numbers and quotes occur in ``source`` (see module docs)."""

    source: str
    numbers: bool = True
    quotes: bool = True
    min_quote: int = 3
    name: str = "grounded"

    @classmethod
    def from_file(cls, path: str | Path, **options: object) -> Grounded:
        """A grounded check against the text of the file at ``path``."""
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise ConfigError(f"cannot read the source file {path}: {exc.strerror}") from None
        return cls(text, **options)  # type: ignore[arg-type]

    def check(self, question: str, answer: str) -> VerifierGen:
        missing: list[str] = []
        claims = 0
        if self.numbers:
            known = _numbers(self.source) | _numbers(question)
            for number in sorted(_numbers(answer), key=answer.find):
                claims += 1
                if number not in known:
                    missing.append(f"the number {number} does not occur in the source")
        if self.quotes:
            source = _flat(self.source)
            for match in _QUOTES.finditer(answer):
                quote = (match.group(1) or match.group(2) or "").strip()
                if len(quote) < self.min_quote:
                    continue
                claims += 1
                if _flat(quote) not in source:
                    missing.append(f'the quote "{quote[:120]}" does not occur in the source')
        if claims == 0:
            return Verdict(True, "no numbers or quotes to check", 1.0)
        score = (claims - len(missing)) / claims
        if missing:
            return Verdict(False, "; ".join(missing), score)
        return Verdict(True, f"all {claims} claims occur in the source", 1.0)
        yield  # pragma: no cover - makes this a generator
