"""One sequence of a batched decode (:mod:`ponder.models.llama_batch`): its sampler, its text, its stop.

A :class:`Sequence` is one generate call: its prompt tokens, its own sampler chain (the chain
``llama-cpp-python``'s ``Llama.create_completion`` builds for the same options, seed and grammar,
so a sequence samples what the sequential path samples from the same logits), and the
bookkeeping of the text it produced: stop strings and end-of-generation tokens end it the way
they end a sequential call (the text cut before the first stop string found, in the order the
stops are given; ``length`` when ``max_tokens`` are reached), and streamed text holds back
what could still become a stop string.

Events for the caller (text pieces, the end) go to ``report``: the caller's thread reads
them, so callbacks run on the thread that made the call, as they do on the sequential path.
"""

from __future__ import annotations

import ctypes
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, ModelCallError
from ..types import GenerationOptions

#: the samplers the sequential path puts before ``temp`` (``Llama.create_completion``'s defaults)
TOP_K = 40
MIN_P = 0.05
TYPICAL_P = 1.0


class SequenceCancelledError(ModelCallError):
    """The caller stopped waiting for this call."""


#: what the scheduler reports: ("text", sequence, piece) or ("done", sequence, None)
Report = tuple[str, "Sequence", str | None]


def sampler_chain(llama: Any, vocab: Any, options: GenerationOptions, seed: int, grammar: str | None) -> Any:
    """A new sampler chain for one sequence; a grammar llama.cpp refuses is a ConfigError.

    The same samplers, in the same order, as the sequential path (``Llama._init_sampler`` with
    ``create_completion``'s defaults; its repeat penalty of 1.0 changes nothing and is left out).
    """
    chain = llama.llama_sampler_chain_init(llama.llama_sampler_chain_default_params())
    if grammar is not None:
        made = llama.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root")
        if not made:
            llama.llama_sampler_free(chain)
            raise ConfigError("invalid GBNF grammar: llama.cpp could not parse it")
        llama.llama_sampler_chain_add(chain, made)
    if options.temperature == 0:
        llama.llama_sampler_chain_add(chain, llama.llama_sampler_init_greedy())
        return chain
    for made in (
        llama.llama_sampler_init_top_k(TOP_K),
        llama.llama_sampler_init_typical(TYPICAL_P, 1),
        llama.llama_sampler_init_top_p(options.top_p, 1),
        llama.llama_sampler_init_min_p(MIN_P, 1),
        llama.llama_sampler_init_temp(options.temperature),
        llama.llama_sampler_init_dist(seed),
    ):
        llama.llama_sampler_chain_add(chain, made)
    return chain


class Pieces:
    """The bytes of each token (cached per token id)."""

    def __init__(self, llama: Any, vocab: Any) -> None:
        self._llama = llama
        self._vocab = vocab
        self._known: dict[int, bytes] = {}

    def __call__(self, token: int) -> bytes:
        piece = self._known.get(token)
        if piece is None:
            size = 64
            while True:
                buffer = ctypes.create_string_buffer(size)
                n = self._llama.llama_token_to_piece(self._vocab, token, buffer, size, 0, False)
                if n >= 0:
                    piece = buffer.raw[:n]
                    break
                size = -n + 1
            self._known[token] = piece
        return piece


@dataclass(eq=False)
class Sequence:
    """One generate call in the scheduler."""

    prompt: list[int]
    options: GenerationOptions
    max_tokens: int
    seed: int
    grammar: str | None
    report: queue.SimpleQueue[Report]
    #: whether the caller wants text pieces as they come
    streams: bool = False
    #: set by the caller: stop at the next step (the slot is freed, the others go on)
    cancelled: threading.Event = field(default_factory=threading.Event)
    # -- the scheduler's state ------------------------------------------------
    slot: int = -1
    #: tokens to feed at the next steps (the prompt's rest, then each sampled token)
    pending: list[int] = field(default_factory=list)
    n_past: int = 0
    #: prompt tokens this sequence had evaluated (the shared prefix counts on the sequence that fed it)
    evaluated: int = 0
    #: (leader, length): wait until the leader has fed ``length`` tokens, then share them
    waits_for: tuple[Sequence, int] | None = None
    sampler: Any = None
    out: bytearray = field(default_factory=bytearray)
    generated: int = 0
    emitted: int = 0
    finish: str = ""
    text: str = ""
    error: BaseException | None = None

    @property
    def ended(self) -> bool:
        return bool(self.finish) or self.error is not None

    def take(self, token: int, piece: bytes, eog: bool) -> None:
        """A sampled token: the sequence ends (stop, length) or goes on with it as its next input."""
        if eog:
            self._end("stop", bytes(self.out))
            return
        self.generated += 1
        self.out += piece
        stops = [s.encode("utf-8") for s in self.options.stop if s]
        found = [s for s in stops if s in self.out]
        if found:
            self._end("stop", bytes(self.out[: self.out.index(found[0])]))
            return
        if self.generated >= self.max_tokens:
            self._end("length", bytes(self.out))
            return
        self.pending = [token]
        if self.streams:
            text = self.out.decode("utf-8", errors="ignore")
            hold = max((_overlap(text, s) for s in self.options.stop if s), default=0)
            upto = len(text) - hold
            if upto > self.emitted:
                self.report.put(("text", self, text[self.emitted : upto]))
                self.emitted = upto

    def _end(self, finish: str, data: bytes) -> None:
        self.text = data.decode("utf-8", errors="ignore")
        self.finish = finish
        if self.streams and len(self.text) > self.emitted:
            self.report.put(("text", self, self.text[self.emitted :]))
            self.emitted = len(self.text)

    def fail(self, error: BaseException) -> None:
        self.error = error


def _overlap(text: str, stop: str) -> int:
    """The longest end of ``text`` that begins ``stop`` (text held back while it may become the stop)."""
    for n in range(min(len(stop), len(text)), 0, -1):
        if text.endswith(stop[:n]):
            return n
    return 0
