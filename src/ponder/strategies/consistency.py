"""``consistency``: sample several answers, extract each one's final answer, vote (Wang et al., self-consistency).

Samples are drawn at ``temperature`` with distinct seeds (``seed``, ``seed + 1``, ...):

* without ``inner``, each sample is one model call on the same prompt as
  ``single``; samples are issued as :class:`~ponder.requests.Batch` es, which
  the engine runs concurrently on backends that allow it;
* with ``inner`` (react, refine, any strategy), each sample is a child run of
  it, whose model calls all get the sample's temperature and seed.

Each sample's answer is reduced to a key by the extractor (``last_number``,
``regex:PATTERN``, ``answer``, ``lm`` or a callable; see :mod:`ponder.extract`);
a sample with no key abstains. Votes are counted (``majority``) or summed
(``weighted``: a sample's weight is the score of the ``weigh`` verifier, or by
default 1.0 for a sample that finished and 0.5 for one cut off by its token
limit or a budget).

**Ties** go to the answer whose first vote came earliest (lowest sample number).

**Greedy anchor** (``anchor=True``, ``--anchor``): a conservative vote for
models whose samples are noisy. Sample 0 is the greedy answer (the prompt of
``single`` at temperature 0) and samples 1.. are drawn at ``temperature``. The
greedy answer stands unless another answer holds **more than half** of all the
votes (3 of 5, 6 of 10), not merely a plurality: two wrong samples that happen
to agree do not overturn it. Adaptive stopping follows the same rule (it stops
once no other answer can still reach a majority, or one already has it), and
the first wave is half the samples. With ``vote="weighted"`` it is half of all
the weight. A greedy sample without an extractable answer abstains and the
plain plurality vote applies. With ``inner``, sample 0's child run gets
temperature 0 for every call that does not set a temperature of its own (a
``tree`` or nested ``consistency`` inside does). A ``margin`` does not combine
with the anchor. A learned stop policy sees the same vote state with or
without it.

**Adaptive stopping**: sampling stops as soon as the leader cannot be overtaken
by the samples still to come (each can add at most weight 1), or as soon as
it leads by ``margin``. Batches come in waves: each wave is the smallest number
of samples that could decide the vote (the first wave is a majority of
``samples``: 3 of 5, 6 of 10).

**Learned stopping**: with a ``stop_policy`` (e.g. a
:class:`~ponder.stop.LearnedStop` fitted on consistency waves, ``--stop
learned:PATH``), after each wave that leaves samples to draw and does not
already settle the vote, the vote so far is described as a
:class:`~ponder.stop.VoteState` and the policy is asked whether to
stop; if it says so, a ``check`` step (verdict ``learned_stop``) is recorded and
the leader is the answer (stop reason ``converged``). With a policy, samples
come in waves even when ``adaptive=False`` (the policy then decides alone).

The agreement (the winner's share of all sample weight) is the confidence,
reported in the outcome's detail and in each ``vote`` step's data (votes,
counts, confidence), so ``--json`` shows every sample and how the vote went.
The answer is the text of the winner's first sample (``answer="sample"``) or
the extracted key itself (``answer="extracted"``).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from .. import steps
from ..access import CLIENT
from ..errors import ConfigError, StopReason, StopRun
from ..extract import Extractor, extract_all, extractor
from ..guards.numbers import finite, whole
from ..requests import Batch, Child, Generate, Outcome, Record, Request, Strategy, StrategyGen
from ..stop import Tally, VoteStopPolicy, next_wave, require_state, vote_state
from ..types import Completion
from ..verifiers.base import Verifier
from .asking import PROMPT_OPTION, ask
from .entry import Option, Slot, StrategyEntry

_FINISHED = frozenset({"answered", "converged"})
T = TypeVar("T")
Steps = Generator[Request, Any, T]
#: one drawn sample: its answer text (None: no answer), whether it finished normally, and its tokens
Drawn = tuple[str | None, bool, int]


#: the most samples a run may ask for, and the most drawn in one wave (a wave's requests are built at once,
#: so a huge ``samples`` never allocates more than this; the budget then stops the run as usual)
MAX_SAMPLES = 100_000
MAX_WAVE = 256


@dataclass(frozen=True)
class Consistency:
    """Self-consistency: sample, extract, vote, stop early (see the module docs)."""

    inner: Strategy | None = None
    samples: int = 5
    temperature: float = 0.7
    extract: str | Extractor = "last_number"
    vote: Literal["majority", "weighted"] = "majority"
    adaptive: bool = True
    margin: float | None = None
    weigh: Verifier | None = None
    seed: int = 0
    answer: Literal["sample", "extracted"] = "sample"
    system_prompt: str | None = None
    #: a packaged prompt for the samples (see :mod:`.asking`), instead of the system prompt
    prompt: str | None = None
    name: str = "consistency"
    #: sample 0 is greedy (temperature 0); it stands unless another answer has a majority (see the module docs)
    anchor: bool = False
    #: asked after each undecided wave (e.g. a :class:`~ponder.stop.LearnedStop`); stops when it says so
    stop_policy: VoteStopPolicy | None = None

    def __post_init__(self) -> None:
        whole("consistency samples", self.samples, maximum=MAX_SAMPLES)
        finite("consistency temperature", self.temperature)
        if self.margin is not None:
            finite("margin", self.margin)
        if self.samples < 1:
            raise ConfigError(f"consistency needs samples >= 1, got {self.samples}")
        if self.temperature <= 0:
            raise ConfigError(f"consistency samples at a temperature > 0, got {self.temperature}")
        if self.vote not in ("majority", "weighted"):
            raise ConfigError(f"unknown vote {self.vote!r} (use majority or weighted)")
        if self.answer not in ("sample", "extracted"):
            raise ConfigError(f"unknown answer mode {self.answer!r} (use sample or extracted)")
        if self.margin is not None and self.margin <= 0:
            raise ConfigError(f"margin must be > 0, got {self.margin}")
        if self.weigh is not None and self.vote != "weighted":
            raise ConfigError("weigh= needs vote='weighted'")
        if self.margin is not None and self.anchor:
            raise ConfigError("a margin does not apply to an anchored vote (it has its own majority rule)")
        if self.margin is not None and not self.adaptive:
            raise ConfigError("a margin is an adaptive stopping rule; it needs adaptive=True")
        extractor(self.extract)  # fail early on a bad spec
        require_state(self.stop_policy, "consistency")

    def run(self, question: str) -> StrategyGen:
        tally = Tally(anchored=self.anchor)
        texts: dict[int, str] = {}
        failed: list[int] = []  # samples whose call failed (after the backend's retries): dropped
        taken = tokens = wave_index = 0
        waves = self.adaptive or self.stop_policy is not None
        try:
            while taken < self.samples:
                size = next_wave(tally, taken, self.samples, self.margin) if waves else self.samples
                if self.inner is not None:
                    size = 1
                size = min(size, MAX_WAVE)  # the requests of a wave exist at once: never more than this
                ids = list(range(taken, taken + size))
                wave = yield from self._draw(question, ids)
                wave_keys = yield from extract_all(self.extract, question, [t for t, _, _ in wave], ids)
                votes: list[steps.VoteEntry] = []
                for sample, (text, finished, used), key in zip(ids, wave, wave_keys, strict=True):
                    tokens += used
                    if text is None and self.inner is None:
                        failed.append(sample)
                        weight = 0.0
                    else:
                        weight = yield from self._weight(question, text, finished)
                    tally.add(sample, key, weight)
                    texts[sample] = text or ""
                    vote: steps.VoteEntry = {
                        "sample": sample,
                        "seed": self.seed + sample,
                        "answer": key,
                        "weight": weight,
                    }
                    if self.anchor and sample == 0:
                        vote["greedy"] = True
                    votes.append(vote)
                taken += size
                reason = tally.decided(self.samples - taken, self.margin) if self.adaptive else None
                learned = (
                    reason is None
                    and taken < self.samples
                    and self.stop_policy is not None
                    and self.stop_policy.should_stop(vote_state(tally, wave_index, self.samples, tokens))
                )
                wave_index += 1
                done = reason is not None or taken >= self.samples or learned
                yield Record(steps.VOTE, self._vote_text(tally, reason), self._vote_data(tally, votes, reason, done))
                if learned:
                    yield Record(
                        steps.CHECK,
                        "the learned stop policy expects more samples not to change the vote",
                        steps.CheckData(verdict="learned_stop"),
                    )
                    why = "the learned stop policy predicts more samples would not change the vote"
                    return self._outcome(tally, texts, failed, "converged", why)
                if reason is not None:
                    return self._outcome(tally, texts, failed, "converged" if taken < self.samples else "answered", "")
            return self._outcome(tally, texts, failed, "answered", "")
        except StopRun as stop:
            return self._outcome(tally, texts, failed, stop.reason, stop.detail)

    # -- sampling -----------------------------------------------------------

    def _draw(self, question: str, ids: list[int]) -> Steps[list[Drawn]]:
        """One wave of samples: [(text or None, finished normally)]."""
        if self.inner is not None:
            out: list[Drawn] = []
            for sample in ids:
                temperature = self._temperature(sample)
                outcome: Outcome = yield Child(self.inner, question, temperature, self.seed + sample)
                out.append((outcome.answer, outcome.stop_reason in _FINISHED, 0))  # child tokens are not visible here
            return out
        messages = ask(question, self.prompt, self.system_prompt)
        requests = Generate.samples(messages, steps.SAMPLE, self._temperature, self.seed, ids, "sample")
        if len(requests) == 1:
            completions: list[Completion] = [(yield requests[0])]
        else:
            completions = yield Batch(requests)
        # a sample whose call failed (after the backend's retries) has no answer: it abstains
        return [
            (None if c.finish_reason == "error" else c.text.strip(), c.finish_reason == "stop", c.usage.total_tokens)
            for c in completions
        ]

    def _temperature(self, sample: int) -> float:
        return 0.0 if self.anchor and sample == 0 else self.temperature

    def _weight(self, question: str, text: str | None, finished: bool) -> Steps[float]:
        if self.vote == "majority":
            return 1.0
        if self.weigh is not None:
            if not text:
                return 0.0
            verdict = yield from self.weigh.check(question, text)
            return verdict.value
        return 1.0 if finished else 0.5

    # -- reporting ----------------------------------------------------------

    def _vote_text(self, tally: Tally, reason: str | None) -> str:
        text = f"after {tally.samples} of {self.samples} samples: {tally.summary()}"
        text += f"; confidence {tally.confidence():.2f}"
        return text + (f"; stop: {reason}" if reason else "")

    def _vote_data(self, tally: Tally, votes: list[steps.VoteEntry], reason: str | None, done: bool) -> steps.VoteData:
        stop: steps.VoteStop = {}
        if reason is not None:
            stop = {"stopped_early": tally.samples < self.samples, "reason": reason}
        return {"votes": votes, **tally.to_data(), "of": self.samples, "vote": self.vote, "final": done, **stop}

    def _outcome(self, tally: Tally, texts: dict[int, str], failed: list[int], reason: StopReason, why: str) -> Outcome:
        outcome = self._vote_outcome(tally, texts, reason, why)
        if not failed:
            return outcome
        dropped = f"{len(failed)} sample(s) failed (model errors) and were dropped: {failed[:10]}"
        return Outcome(outcome.answer, outcome.stop_reason, f"{outcome.detail}; {dropped}")

    def _vote_outcome(self, tally: Tally, texts: dict[int, str], reason: StopReason, why: str) -> Outcome:
        leader = tally.leader()
        prefix = f"{why}; " if why else ""
        if leader is None:
            fallback = next((t for t in texts.values() if t), None)
            detail = f"{prefix}no answer could be extracted from {tally.samples} samples (confidence 0.00)"
            return Outcome(fallback, reason, detail)
        first = tally.first[leader]
        answer = leader if self.answer == "extracted" else texts[first]
        agree = tally.count[leader]
        detail = (
            f"{prefix}{leader}: {agree} of {tally.samples} samples agree (confidence {tally.confidence():.2f}; "
            f"{tally.summary()})"
        )
        if reason == "converged":
            detail += f"; stopped early after {tally.samples} of {self.samples} samples"
        return Outcome(answer, reason, detail)


def _call_count(options: Mapping[str, Any], slots: Mapping[str, int]) -> int:
    """Every sample (one call, or the inner strategy's calls), twice with the ``lm`` extractor."""
    lm = 2 if options.get("extract") == "lm" else 1
    return int(options.get("samples", 5)) * slots.get("inner", 1) * lm


ENTRY = StrategyEntry(
    "consistency",
    Consistency,
    "sample several answers, extract, vote, stop early on consensus (self-consistency)",
    options=(
        Option(
            "samples",
            int,
            "consistency: most samples (default 5).",
            "--samples",
            minimum=1,
            maximum=MAX_SAMPLES,
            access=CLIENT,
            client_max=64,
        ),
        Option(
            "temperature",
            float,
            "consistency: sampling temperature (default 0.7).",
            "--sample-temperature",
            minimum=0,
            open_min=True,
            maximum=100,
            access=CLIENT,
        ),
        # the kind of extraction a client may name is checked against the operator's policy (ponder.spec.client)
        Option(
            "extract", str, "Answer extraction: last_number, regex:PATTERN, answer or lm.", "--extract", access=CLIENT
        ),
        Option("vote", str, "consistency: vote.", "--vote", choices=("majority", "weighted"), access=CLIENT),
        Option(
            "adaptive",
            bool,
            "consistency: draw every sample (no early stop).",
            "--no-adaptive",
            flag_value=False,
            access=CLIENT,
        ),
        Option(
            "anchor",
            bool,
            "consistency: sample 0 is the greedy answer; another answer needs a majority to replace it.",
            "--anchor",
            flag_value=True,
            access=CLIENT,
        ),
        Option(
            "margin", float, "Stop at this lead.", "--margin", minimum=0, open_min=True, nullable=True, access=CLIENT
        ),
        Option("seed", int, "consistency: the first sample's seed (default: the run's --seed).", access=CLIENT),
        Option(
            "answer",
            str,
            "consistency: the sample's text or the extracted key.",
            choices=("sample", "extracted"),
            access=CLIENT,
        ),
        PROMPT_OPTION,
    ),
    slots=(
        Slot(
            "inner", "consistency/verify: the strategy to sample or verify (e.g. react).", flag="--inner", access=CLIENT
        ),
    ),
    verifier_field="weigh",  # the spec key is "verifier" (as everywhere); "weigh" is the field
    verifier_help="consistency: the verifier that weighs each sample (with --vote weighted).",
    stop_state="consistency",
    calls=_call_count,
)
