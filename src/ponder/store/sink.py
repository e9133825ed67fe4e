"""The event sink that records runs into a :class:`~ponder.store.RunStore` as they happen."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..events import Event, ModelCalled, RunFinished, RunStarted, StepRecorded, ToolCalled


class RunStore(Protocol):
    """What the sink needs of :class:`ponder.store.RunStore` (a protocol: the store module builds sinks)."""

    def write_events(self, events: Sequence[tuple[str, Event]]) -> None: ...

    def take_lease(self, root_id: str) -> None: ...

    def release_lease(self, root_id: str) -> None: ...

    def last_seq(self, root_id: str) -> int: ...


#: events recorded at once (with the events held back before them): a model or tool result is durable
#: before the strategy sees it, a decision before the next call, the end of a run when it ends
_DURABLE = (ModelCalled, ToolCalled, StepRecorded, RunFinished)


class StoreSink:
    """An engine event sink that records each event in a :class:`RunStore` as it happens.

    With ``resume=ROOT_ID`` it continues a stored run: the events the replayed
    part of the run produces again (sequence numbers already stored) are not
    written twice, so the store ends up with each event once.

    The events of one engine step are recorded together when the step ends (a
    model or tool result, a decision, the end of a run): a result is durable
    before the strategy sees it. While a run is written, this process holds its
    lease (see :meth:`RunStore.take_lease`), so no other process resumes it.
    """

    def __init__(self, store: RunStore, *, resume: str | None = None) -> None:
        self.store = store
        self._pending: list[tuple[str, Event]] = []
        self._roots: dict[str, str] = {}
        self._skip_through = 0
        self.root_id: str | None = None
        if resume is not None:
            store.take_lease(resume)
            self.root_id = resume
            self._skip_through = store.last_seq(resume)

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            if event.parent_run_id is None:
                if self.root_id is None or self._skip_through == 0:
                    self.root_id = event.run_id
                    self.store.take_lease(event.run_id)
                self._roots[event.run_id] = self.root_id
            else:
                self._roots[event.run_id] = self._roots.get(event.parent_run_id, event.parent_run_id)
        root = self._roots.get(event.run_id)
        if root is None or event.seq <= self._skip_through:
            return
        self._pending.append((root, event))
        if isinstance(event, _DURABLE):
            self.flush()
        if isinstance(event, RunFinished) and event.run_id == root:
            self.store.release_lease(root)

    def flush(self) -> None:
        """Commit the events held back (the start of a step) together with the one that ends it."""
        if self._pending:
            pending, self._pending = self._pending, []
            self.store.write_events(pending)
