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

This module is the loop and the callers' side; which calls go on which slots is
:mod:`ponder.models.llama_admit`'s, and one decode step :mod:`ponder.models.llama_step`'s.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ..errors import ModelCallError
from .llama_admit import Admission
from .llama_sequence import Pieces, Report, Sequence
from .llama_slots import Slots
from .llama_step import Host, Stepping

#: seconds the scheduler's thread waits for work before it ends (a new call starts it again)
IDLE_SECONDS = 5.0


class Scheduler(Admission, Stepping):
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
