"""A consistency-confidence check: do fresh samples agree with the answer?

Draws ``samples`` more answers to the question at ``temperature`` (distinct
seeds from ``seed``; one :class:`~ponder.requests.Batch`, concurrent where the
backend allows), extracts each one's key and the answer's key, and measures
the agreement: the share of the ``samples + 1`` answers (the checked one
included) whose key equals the answer's. The answer passes when the agreement
is at least ``threshold``. The samples are asked as ``prompt`` (a packaged
prompt, see :mod:`ponder.strategies.asking`) when given, else with the system
prompt and the question. This is the check ``route`` uses by default: a fast
answer the model does not reproduce is escalated.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import steps
from ..errors import ConfigError
from ..extract import Extractor, extract_all, extractor
from ..requests import Batch, Generate
from ..strategies.asking import PROMPTS, ask
from .base import Verdict, VerifierGen


@dataclass(frozen=True)
class Agreement:
    """Pass an answer when enough fresh samples agree with it (see module docs)."""

    samples: int = 3
    threshold: float = 0.6
    temperature: float = 0.7
    extract: str | Extractor = "last_number"
    seed: int = 1000
    system_prompt: str | None = None
    name: str = "agreement"
    #: a packaged prompt for the samples, instead of the system prompt
    prompt: str | None = None

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise ConfigError(f"agreement needs samples >= 1, got {self.samples}")
        if not 0 < self.threshold <= 1:
            raise ConfigError(f"agreement threshold must be in (0, 1], got {self.threshold}")
        if self.temperature <= 0:
            raise ConfigError(f"agreement samples at a temperature > 0, got {self.temperature}")
        extractor(self.extract)
        if self.prompt is not None and self.prompt not in PROMPTS:
            raise ConfigError(f"unknown prompt {self.prompt!r} (use {', '.join(PROMPTS)})")

    def check(self, question: str, answer: str) -> VerifierGen:
        messages = ask(question, self.prompt, self.system_prompt)
        asks = Generate.samples(
            messages, steps.CHECK_SAMPLE, self.temperature, self.seed, range(self.samples), "check_sample"
        )
        replies = yield Batch(asks)
        texts: list[str | None] = [answer, *(r.text.strip() for r in replies)]
        keys = yield from extract_all(self.extract, question, texts, [-1, *range(self.samples)])
        mine = keys[0]
        if mine is None:
            return Verdict(False, "no answer could be extracted from the answer, so agreement cannot be measured", 0.0)
        agree = sum(1 for k in keys[1:] if k == mine)
        confidence = (agree + 1) / (self.samples + 1)
        others = ", ".join(str(k) for k in keys[1:])
        feedback = (
            f"{agree} of {self.samples} fresh samples agree with {mine} "
            f"(confidence {confidence:.2f}, threshold {self.threshold:.2f}; samples said: {others})"
        )
        return Verdict(confidence >= self.threshold - 1e-9, feedback, confidence)
