"""A progress bar for long recursive runs: chunks read by the map step, out of those kept by the filter."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from ..events import Event, ModelCalled, RunFinished, StepRecorded


class ChunkProgress:
    """An event sink: starts a bar at the ``filter`` step, advances on each ``map`` call, ends with the run."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("chunks"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        )
        self.task: TaskID | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepRecorded) and event.kind == "filter":
            if self.task is None:
                self.progress.start()
                self.task = self.progress.add_task("map", total=int(event.data.get("kept", 0)))
        elif isinstance(event, ModelCalled) and event.kind == "map" and self.task is not None:
            self.progress.advance(self.task)
        elif isinstance(event, RunFinished) and self.task is not None:
            self.progress.stop()
            self.task = None
