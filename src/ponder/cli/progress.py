"""A progress bar for long recursive runs: what the map step has read, out of what it will read.

The needle plan reports chunks (the bar starts at the ``filter`` step, with the
chunks it kept); the count plan reports records (the bar starts at the
``split`` step, with every record). Each ``map`` model call advances the bar.
"""

from __future__ import annotations

from typing import cast

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from .. import steps
from ..events import Event, ModelCalled, RunFinished, StepRecorded


class ChunkProgress:
    """An event sink: starts a bar at the ``filter`` step (or the count plan's ``split``), advances on each
    ``map`` call, ends with the run."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        )
        self.task: TaskID | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepRecorded) and self.task is None:
            if event.kind == steps.FILTER:
                self._start("chunks", int(cast(steps.FilterData, event.data).get("kept", 0)))
            elif event.kind == steps.SPLIT:
                split = cast(steps.SplitData, event.data)
                if split.get("plan") == "count":
                    self._start("records", int(split.get("records", 0)))
        elif isinstance(event, ModelCalled) and event.kind == steps.MAP and self.task is not None:
            self.progress.advance(self.task)
        elif isinstance(event, RunFinished) and self.task is not None:
            self.progress.stop()
            self.task = None

    def _start(self, what: str, total: int) -> None:
        self.progress.start()
        self.task = self.progress.add_task(what, total=total)
