"""One step of the batched decode loop (:mod:`ponder.models.llama_batch`): one ``llama_decode``.

Each step feeds one token of every decoding sequence, then as much of the waiting prompts as
``n_batch`` leaves; the sequences whose last fed token was their prompt's last (or a sampled one)
then sample, each with its own chain. A failed decode fails the sequences of that step only.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ModelCallError
from .llama_sequence import Pieces, Sequence, SequenceCancelledError
from .llama_slots import Slot, Slots


class Host(Protocol):
    """What the scheduler needs of its model."""

    _llm: Any
    _lock: threading.Lock
    _sharer: Any
    threads: int

    def _set_threads(self, threads: int) -> None: ...


class Stepping:
    """The scheduler's decode step (a part of :class:`~ponder.models.llama_batch.Scheduler`)."""

    n_batch: int
    slots: Slots
    pieces: Pieces
    steps: int
    widest: int
    decode_seconds: float
    sample_seconds: float
    _host: Host
    _api: Any
    _ctx: Any
    _vocab: Any
    _batch: Any
    _active: list[Sequence]

    if TYPE_CHECKING:

        def _start(self, seq: Sequence, slot: Slot, n_past: int) -> None: ...

        def _finish(self, seq: Sequence, error: BaseException | None = None) -> None: ...

    def _step(self) -> None:
        for seq in list(self._active):
            if seq.cancelled.is_set():
                self._finish(seq, SequenceCancelledError("the call was cancelled"))
        feeding = [s for s in self._active if s.waits_for is None and s.pending]
        feeding.sort(key=lambda s: len(s.pending) > 1)  # the decoding sequences first, then prompts
        entries: list[tuple[Sequence, list[int], bool]] = []
        budget = self.n_batch
        for seq in feeding:
            if budget <= 0:
                break
            part = seq.pending[:budget]
            entries.append((seq, part, len(part) == len(seq.pending)))
            budget -= len(part)
        if not entries:
            return
        self._fill(entries)
        self._host._set_threads(self._host._sharer.threads(self._host.threads))
        t0 = time.perf_counter()
        code = self._api.llama_decode(self._ctx, self._batch.batch)
        if code == 1 and self.slots.evict_one():  # no room in the KV cache: drop idle caches, once more
            while self.slots.evict_one():
                pass
            code = self._api.llama_decode(self._ctx, self._batch.batch)
        if code != 0:
            for seq, _, _ in entries:
                self.slots.clear(self.slots.all[seq.slot])
                self._finish(seq, ModelCallError(f"llama_decode returned {code}"))
            return
        t1 = time.perf_counter()
        self.decode_seconds += t1 - t0
        self.steps += 1
        self.widest = max(self.widest, len(entries))
        index = 0
        outputs: list[tuple[Sequence, int]] = []
        for seq, part, wants in entries:
            self.slots.all[seq.slot].tokens.extend(part)
            seq.n_past += len(part)
            del seq.pending[: len(part)]
            index += len(part)
            if wants:
                outputs.append((seq, index - 1))
        for seq in self._active:  # followers whose shared prefix is in the cache now
            if seq.waits_for is not None and seq.waits_for[0].n_past >= seq.waits_for[1]:
                leader, shared = seq.waits_for
                target = self.slots.all[seq.slot]
                self.slots.copy(self.slots.all[leader.slot], target, shared)
                self._start(seq, target, shared)
        for seq, at in outputs:
            self._sample(seq, at)
        self.sample_seconds += time.perf_counter() - t1

    def _fill(self, entries: list[tuple[Sequence, list[int], bool]]) -> None:
        batch = self._batch.batch
        i = 0
        for seq, part, wants in entries:
            for k, token in enumerate(part):
                batch.token[i] = token
                batch.pos[i] = seq.n_past + k
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = seq.slot
                batch.logits[i] = wants and k == len(part) - 1
                i += 1
        batch.n_tokens = i

    def _sample(self, seq: Sequence, at: int) -> None:
        if seq.cancelled.is_set():
            self._finish(seq, SequenceCancelledError("the call was cancelled"))
            return
        try:
            token = int(self._api.llama_sampler_sample(seq.sampler, self._ctx, at))
            seq.take(token, self.pieces(token), bool(self._api.llama_vocab_is_eog(self._vocab, token)))
        except Exception as exc:  # this sequence's failure, not the others'
            self._finish(seq, exc)
            return
        if seq.ended:
            self._finish(seq)
