"""Admission in the batched decode loop (:mod:`ponder.models.llama_batch`): which queued calls go on
which sequence slots, and when.

A group of calls submitted together is placed on free slots while the KV cache has room for what
they are promised (their prompts' rest and ``max_tokens``): the group's common prompt prefix is
taken from the slot that already holds most of it (evaluated once, on the first call's slot) and
copied to the others, or, while the first call is still evaluating it, they wait for it
(``waits_for``). Idle caches are evicted, least recently used first, when room is short.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from .llama_sequence import Sequence, SequenceCancelledError
from .llama_slots import Slot, Slots, common_prefix


class Admission:
    """The scheduler's admission (a part of :class:`~ponder.models.llama_batch.Scheduler`)."""

    n_ctx: int
    reuse: bool
    slots: Slots
    _queue: deque[list[Sequence]]
    _active: list[Sequence]

    if TYPE_CHECKING:

        def _end(self, seq: Sequence, error: BaseException | None) -> None: ...

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
            shared = shared_prefix(take)
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
        shared = shared_prefix(take)
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


def shared_prefix(group: list[Sequence]) -> int:
    """The tokens every prompt of ``group`` starts with, leaving each at least one of its own."""
    first = group[0].prompt
    shared = len(first)
    for seq in group[1:]:
        shared = min(shared, common_prefix(first, seq.prompt))
    return max(0, min(shared, min(len(s.prompt) for s in group) - 1))
