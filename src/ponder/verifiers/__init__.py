"""Verifiers: check a proposed answer and say why it fails.

>>> from ponder.verifiers import contains
>>> gen = contains("Paris").check("Capital of France?", "It is Paris.")
>>> try:
...     next(gen)
... except StopIteration as done:
...     print(done.value.ok)
True

Used by ``verify`` (accept or revise), ``route`` (escalate or not) and
``consistency`` (weights of a weighted vote). See :mod:`ponder.verifiers.base`
for the protocol.
"""

from .agreement import Agreement
from .base import Check, Verdict, Verifier, VerifierGen, close_verifier, contains, matches
from .code import CodeCheck
from .grounded import Grounded
from .judge import Judge, parse_judgement
from .specs import parse_verifier

__all__ = [
    "Agreement",
    "Check",
    "CodeCheck",
    "Grounded",
    "Judge",
    "Verdict",
    "Verifier",
    "VerifierGen",
    "close_verifier",
    "contains",
    "matches",
    "parse_judgement",
    "parse_verifier",
]
