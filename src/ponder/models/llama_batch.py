"""Batched decoding for the in-process llama.cpp model: several sequences, one forward pass per step.

A CPU decodes several sequences in one pass for little more than the price of one: the weights
are read once per step. The :class:`Scheduler` runs every generate call of one
:class:`~ponder.models.llama_cpp.LlamaCppModel` (when batching is on) on one thread:

* calls submitted together (an engine :class:`~ponder.requests.Batch`) share their prompts'
  common prefix: it is evaluated once, on the first call's sequence, and the others share its
  KV cells (``llama_memory_seq_cp``) before each evaluates only its own rest;
* calls from several threads (``ponder serve`` with concurrent requests, eval items on threads)
  join the running steps as soon as a sequence slot is free (continuous batching), at most
  ``max_sequences`` at once, the rest waiting in turn;
* every step feeds one token of each decoding sequence, and as much of the waiting prompts as
  ``n_batch`` leaves, in one ``llama_decode``; each sequence then samples with its own chain
  (its options, seed and grammar: :mod:`ponder.models.llama_sequence`) and ends on its own stop;
* a sequence that is cancelled, or whose caller's callback raised, ends at the next step, and
  the others go on; a failed ``llama_decode`` fails the sequences of that step only.

The KV cells of ended sequences stay as a cache (:mod:`ponder.models.llama_slots`), so the
next call that starts the same way evaluates only its new tokens, as on the sequential path.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from ..errors import ModelCallError
from .llama_sequence import Pieces, Report, Sequence
from .llama_slots import Slot, Slots, common_prefix

#: seconds the scheduler's thread waits for work before it ends (a new call starts it again)
IDLE_SECONDS = 5.0


class SequenceCancelledError(ModelCallError):
    """The caller stopped waiting for this call."""


class Host(Protocol):
    """What the scheduler needs of its model."""

    _llm: Any
    _lock: threading.Lock
    _sharer: Any
    threads: int

    def _set_threads(self, threads: int) -> None: ...


class Scheduler:
    """The decode loop of one model (see the module docs)."""

    def __init__(self, host: Host, max_sequences: int, n_batch: int, *, reuse: bool = True) -> None:
        import llama_cpp
        from llama_cpp._internals import LlamaBatch

        self._host = host
        self._api: Any = llama_cpp
        self._ctx = host._llm._ctx.ctx
        self._vocab = host._llm._model.vocab
        self.n_ctx = int(host._llm.n_ctx())
        self.n_batch = n_batch
        self.max_sequences = max_sequences
        #: whether ended sequences' KV cells are kept for later calls (False: every call from scratch)
        self.reuse = reuse
        self.slots = Slots(llama_cpp, self._ctx, max_sequences)
        self.pieces = Pieces(llama_cpp, self._vocab)
        self._batch = LlamaBatch(n_tokens=n_batch, embd=0, n_seq_max=1, verbose=False)
        self._cond = threading.Condition()
        self._queue: deque[list[Sequence]] = deque()
        self._active: list[Sequence] = []
        #: sequences ended in this step, told to their callers before the next step or once the model is free
        self._outbox: list[Sequence] = []
        self._thread: threading.Thread | None = None
        #: whether the slots mirror the model's own (sequential) KV state; False after a sequential call
        self.owns_cache = False
        #: steps decoded and the sequences they carried (for benchmarks and tests)
        self.steps = 0
        self.widest = 0
        #: seconds in ``llama_decode`` and in sampling (for benchmarks)
        self.decode_seconds = 0.0
        self.sample_seconds = 0.0

    # -- the callers' side ----------------------------------------------------

    def submit(self, group: list[Sequence]) -> None:
        """Queue ``group`` (its sequences share their common prompt prefix) and wake the loop."""
        if not group:
            return
        with self._cond:
            self._queue.append(group)
            if self._thread is None:
                self._thread = threading.Thread(target=self._main, name="ponder-llama-batch", daemon=True)
                self._thread.start()
            self._cond.notify()

    def wait(
        self,
        group: list[Sequence],
        on_done: Callable[[int, Sequence], None],
        on_text: Callable[[Sequence, str], None] | None = None,
        poll: Callable[[], None] | None = None,
    ) -> None:
        """On the caller's thread: hand over text pieces and each ended sequence as they come.

        When ``on_text``, ``on_done`` or ``poll`` raise, the sequences not ended are cancelled
        (they stop at the next step) and the exception goes on."""
        where = {id(s): i for i, s in enumerate(group)}
        left = len(group)
        report: queue.SimpleQueue[Report] = group[0].report
        try:
            while left:
                try:
                    kind, seq, piece = report.get(timeout=0.1 if poll is not None else None)
                except queue.Empty:
                    assert poll is not None
                    poll()
                    continue
                if kind == "text":
                    if on_text is not None and piece:
                        on_text(seq, piece)
                    continue
                left -= 1
                on_done(where[id(seq)], seq)
        except BaseException:
            for seq in group:
                seq.cancelled.set()
            with self._cond:
                self._cond.notify()
            _drain(report, left)  # they end at the next step: their slots are free when this returns
            raise

    # -- the loop -------------------------------------------------------------

    def _main(self) -> None:
        try:
            self._loop()
        finally:
            with self._cond:
                if self._thread is threading.current_thread():
                    self._thread = None

    def _loop(self) -> None:
        while True:
            with self._cond:
                if not self._queue and not self._active:
                    self._cond.wait(IDLE_SECONDS)
                    if not self._queue and not self._active:
                        self._thread = None  # under the lock: a call submitted from now on starts a new thread
                        return
            with self._host._lock, self._host._sharer:
                try:
                    self._adopt()
                    while True:
                        with self._cond:
                            self._admit()
                            if not self._active:
                                break
                        self._flush()  # the model goes on with others: ended calls are told now
                        self._step()
                except Exception as exc:  # a fault of the loop itself: every call fails, none hangs
                    self._fail_all(ModelCallError(f"the batched decode loop failed: {type(exc).__name__}: {exc}"))
            self._flush()  # nothing left: the model (its lock, its share of the cores) is free before they are told

    def _flush(self) -> None:
        ended, self._outbox = self._outbox, []
        for seq in ended:
            seq.report.put(("done", seq, None))

    def _fail_all(self, error: ModelCallError) -> None:
        with self._cond:
            waiting = [seq for group in self._queue for seq in group]
            self._queue.clear()
        for seq in [*self._active, *waiting]:
            seq.slot = -1
            self._finish(seq, error)
        self._active.clear()
        for slot in self.slots.all:
            slot.owner = None
            slot.tokens = []
            slot.copied = 0
            slot.source = None
        self._host._llm._ctx.kv_cache_clear()

    def _adopt(self) -> None:
        """Take over the model's KV state after a sequential call: its one sequence is slot 0."""
        if self.owns_cache:
            return
        llm = self._host._llm
        for slot in self.slots.all[1:]:
            self.slots.clear(slot)
        self.slots.reset_to(self.slots.all[0], [int(t) for t in llm.input_ids[: llm.n_tokens]])
        self.owns_cache = True

    def release(self) -> None:
        """Before a sequential call (holding the model's lock): the model's own state is slot 0's."""
        if not self.owns_cache:
            return
        llm = self._host._llm
        first = self.slots.all[0]
        for slot in self.slots.all[1:]:
            if slot.tokens:
                self.slots.clear(slot)
        tokens = first.tokens
        llm.input_ids[: len(tokens)] = tokens
        llm.n_tokens = len(tokens)
        if hasattr(llm, "_requires_eval"):
            llm._requires_eval = True
        self.owns_cache = False

    def _reserved(self, seq: Sequence) -> int:
        left = max(0, len(seq.prompt) - seq.n_past) if seq.waits_for is None else len(seq.prompt) - seq.waits_for[1]
        return left + seq.max_tokens - seq.generated

    def _used(self) -> int:
        """The KV cells held, and promised to the running sequences (their prompts' rest and max_tokens)."""
        return self.slots.cells() + sum(self._reserved(s) for s in self._active)

    def _admit(self) -> None:
        """Move queued sequences onto free slots while the cache has room (called holding ``_cond``)."""
        while self._queue:
            group = self._queue[0]
            for seq in [s for s in group if s.cancelled.is_set()]:
                group.remove(seq)
                self._end(seq, SequenceCancelledError("the call was cancelled before it started"))
            free = len(self.slots.idle())
            if not group or not free:
                if not group:
                    self._queue.popleft()
                    continue
                return
            take = group[:free]
            if not self.reuse:
                while self.slots.evict_one():
                    pass
            shared = _shared_prefix(take)
            _, reused = self.slots.best_source(take[0].prompt[:shared])
            need = shared - min(reused, shared) + sum(len(s.prompt) - shared + s.max_tokens for s in take)
            while self._used() + need > self.n_ctx and self.slots.evict_one():
                pass
            if self._used() + need > self.n_ctx:
                if self._active:
                    return  # wait for room
                take = take[:1]  # alone it fits: its max_tokens were cut to the room its prompt leaves
            self._place(take)
            del group[: len(take)]
            if not group:
                self._queue.popleft()

    def _place(self, take: list[Sequence]) -> None:
        shared = _shared_prefix(take)
        source, reused = self.slots.best_source(take[0].prompt[:shared])
        leader = take[0]
        if source is not None and source.owner is None:
            slot: Slot = source
            self.slots.truncate(slot, reused)
        else:
            found = self.slots.free_slot()
            assert found is not None
            slot = found
            self.slots.clear(slot)
            if source is not None:
                self.slots.copy(source, slot, reused)
        self._start(leader, slot, reused)
        leader.evaluated = len(leader.prompt) - reused
        for seq in take[1:]:
            found = self.slots.free_slot()
            assert found is not None
            self.slots.clear(found)
            seq.evaluated = len(seq.prompt) - shared
            if reused >= shared:
                self.slots.copy(slot, found, shared)
                self._start(seq, found, shared)
            else:
                seq.slot = found.seq_id
                found.owner = seq
                seq.waits_for = (leader, shared)
                self._active.append(seq)

    def _start(self, seq: Sequence, slot: Slot, n_past: int) -> None:
        seq.slot = slot.seq_id
        slot.owner = seq
        slot.used = self.slots.tick()
        seq.n_past = n_past
        seq.pending = seq.prompt[n_past:]
        seq.waits_for = None
        if seq not in self._active:
            self._active.append(seq)

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

    def _finish(self, seq: Sequence, error: BaseException | None = None) -> None:
        if error is not None:
            seq.fail(error)
        slot = self.slots.all[seq.slot] if seq.slot >= 0 else None
        if slot is not None and slot.owner is seq:
            slot.owner = None
            slot.used = self.slots.tick()
        if seq in self._active:
            self._active.remove(seq)
        for other in list(self._active):  # sequences still waiting for its prefix feed the rest themselves
            if other.waits_for is not None and other.waits_for[0] is seq:
                target = self.slots.all[other.slot]
                have = min(len(slot.tokens), other.waits_for[1]) if slot is not None else 0
                if slot is not None and have:
                    self.slots.copy(slot, target, have)
                other.evaluated = len(other.prompt) - have
                self._start(other, target, have)
        self._end(seq, None)

    def _end(self, seq: Sequence, error: BaseException | None) -> None:
        if error is not None:
            seq.fail(error)
        if seq.sampler is not None:
            self._api.llama_sampler_free(seq.sampler)
            seq.sampler = None
        self._outbox.append(seq)


def _drain(report: queue.SimpleQueue[Report], left: int, seconds: float = 60.0) -> None:
    """Wait (a bounded time) until ``left`` more sequences of ``report`` have ended."""
    deadline = time.monotonic() + seconds
    while left > 0 and (wait := deadline - time.monotonic()) > 0:
        try:
            kind, _, _ = report.get(timeout=wait)
        except queue.Empty:
            return
        left -= kind == "done"


def _shared_prefix(group: list[Sequence]) -> int:
    """The tokens every prompt of ``group`` starts with, leaving each at least one of its own."""
    first = group[0].prompt
    shared = len(first)
    for seq in group[1:]:
        shared = min(shared, common_prefix(first, seq.prompt))
    return max(0, min(shared, min(len(s.prompt) for s in group) - 1))
