"""The KV cache of a batched llama.cpp context, seen as slots: one sequence id each.

A slot remembers the tokens whose keys and values its sequence id holds (positions 0..n-1),
also after the call that put them there has ended: the next call whose prompt starts the same
way reuses them (the KV prefix reuse of the sequential path, for several sequences). Sharing a
prefix between sequences is ``llama_memory_seq_cp`` on a unified KV cache: the cells are
marked as belonging to both, nothing is copied.

Cells are counted so that a new sequence is admitted only when the cache has room for its
prompt and its ``max_tokens``: a slot's cells are its tokens less the prefix it shares with the
slot it copied them from (``copied``), an estimate that errs on the side of too many.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Slot:
    """One sequence id of the context."""

    seq_id: int
    tokens: list[int] = field(default_factory=list)
    #: the sequence decoding on it now (None: idle, its tokens kept as a cache)
    owner: object | None = None
    #: when it was last used (a counter): idle slots are evicted oldest first
    used: int = 0
    #: leading tokens whose cells another slot counts
    copied: int = 0
    source: Slot | None = None

    @property
    def cells(self) -> int:
        return len(self.tokens) - self.copied


def common_prefix(a: Seq[int], b: Seq[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class Slots:
    """The slots of one context and the KV operations on them."""

    def __init__(self, llama: Any, ctx: Any, count: int) -> None:
        self._llama = llama
        self._ctx = ctx
        memory = getattr(llama, "llama_get_memory", None)
        self._memory = memory(ctx) if memory is not None else None
        self.all = [Slot(i) for i in range(count)]
        self._clock = 0

    def tick(self) -> int:
        self._clock += 1
        return self._clock

    def cells(self) -> int:
        return sum(s.cells for s in self.all)

    def idle(self) -> list[Slot]:
        return [s for s in self.all if s.owner is None]

    def best_source(self, prefix: Seq[int]) -> tuple[Slot | None, int]:
        """The slot holding the longest start of ``prefix`` (an idle one on a tie) and that length."""
        if not self.all:
            return None, 0
        scored = [(common_prefix(slot.tokens, prefix), slot.owner is None, slot) for slot in self.all]
        length, _, best = max(scored, key=lambda t: (t[0], t[1]))
        return (best, length) if length > 0 else (None, 0)

    def free_slot(self, keep: Slot | None = None) -> Slot | None:
        """An idle slot to take, emptiest and oldest first (``keep`` only when there is no other)."""
        idle = [s for s in self.idle() if s is not keep]
        if not idle:
            return None
        return min(idle, key=lambda s: (len(s.tokens) > 0, s.used))

    def evict_one(self) -> bool:
        """Empty the oldest idle slot that holds tokens; False when there is none."""
        full = [s for s in self.idle() if s.tokens]
        if not full:
            return False
        self.clear(min(full, key=lambda s: s.used))
        return True

    # -- KV operations ------------------------------------------------------

    def _seq_rm(self, seq_id: int, p0: int) -> None:
        if self._memory is not None:
            self._llama.llama_memory_seq_rm(self._memory, seq_id, p0, -1)
        else:  # pragma: no cover - llama-cpp-python before the memory API
            self._llama.llama_kv_self_seq_rm(self._ctx, seq_id, p0, -1)

    def _seq_cp(self, src: int, dst: int, p1: int) -> None:
        if self._memory is not None:
            self._llama.llama_memory_seq_cp(self._memory, src, dst, 0, p1)
        else:  # pragma: no cover
            self._llama.llama_kv_self_seq_cp(self._ctx, src, dst, 0, p1)

    def truncate(self, slot: Slot, n: int) -> None:
        """Keep the first ``n`` tokens of ``slot``."""
        if n >= len(slot.tokens):
            return
        self._seq_rm(slot.seq_id, n)
        del slot.tokens[n:]
        slot.copied = min(slot.copied, n)
        for other in self.all:
            if other.source is slot:
                other.copied = min(other.copied, n)

    def clear(self, slot: Slot) -> None:
        """Forget everything ``slot`` holds (cells shared with others stay theirs)."""
        for other in self.all:
            if other.source is slot:
                other.copied = min(other.copied, slot.copied)
                other.source = slot.source
        self._seq_rm(slot.seq_id, 0)
        slot.tokens = []
        slot.copied = 0
        slot.source = None

    def copy(self, src: Slot, dst: Slot, n: int) -> None:
        """``dst`` (empty) shares the first ``n`` tokens of ``src``."""
        if n <= 0:
            return
        self._seq_cp(src.seq_id, dst.seq_id, n)
        dst.tokens = src.tokens[:n]
        dst.copied = n
        dst.source = src

    def reset_to(self, slot: Slot, tokens: list[int]) -> None:
        """``slot`` holds ``tokens`` (its KV cells past them are removed)."""
        self._seq_rm(slot.seq_id, len(tokens))
        slot.tokens = tokens
        slot.copied = 0
        slot.source = None
