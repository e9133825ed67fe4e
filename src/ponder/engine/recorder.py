"""What the engine records as a run goes: step indices, sequence numbers, and each event stamped and sent.

One :class:`Recorder` serves one top-level run (its children included): the step index and the
event sequence number count across all of them, so a rerun of the same run (a resume) numbers its
steps the same way and its replay matches. The engine creates it and hands it, inside the run's
:class:`~ponder.engine.scope.Scope`, to the modules that make calls (:mod:`ponder.engine.model_calls`,
:mod:`ponder.engine.tool_calls`, :mod:`ponder.engine.children`); nothing else writes events.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Concatenate, ParamSpec

from ..events import Event, EventSink
from .run_state import RunState

P = ParamSpec("P")


class Recorder:
    """The step index and sequence numbers of one top-level run, and its sinks.

    >>> from ponder.events import StepStarted
    >>> seen = []
    >>> recorder = Recorder([seen.append])
    >>> run = RunState(depth=0)
    >>> recorder.emit(run, StepStarted, recorder.take_index(), "draft", 0)
    >>> (seen[0].seq, seen[0].step, run.events == seen)
    (1, 0, True)
    """

    __slots__ = ("index", "seq", "sinks")

    def __init__(self, sinks: Iterable[EventSink] = ()) -> None:
        self.sinks = list(sinks)
        #: the last event's sequence number (the first is 1)
        self.seq = 0
        #: the next step's index (the first is 0)
        self.index = 0

    def take_index(self) -> int:
        """The index of a new step."""
        index = self.index
        self.index += 1
        return index

    def next_seq(self) -> int:
        """The sequence number of a new event."""
        self.seq += 1
        return self.seq

    def emit(
        self,
        run: RunState,
        kind: Callable[Concatenate[str, int, float, P], Event],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> None:
        """Make an event of ``kind`` for ``run`` (its run id, the next sequence number, the time, then
        ``args``), keep it on the run and send it to every sink."""
        event = kind(run.run_id, self.next_seq(), time.time(), *args, **kwargs)
        run.events.append(event)
        for sink in self.sinks:
            sink(event)
