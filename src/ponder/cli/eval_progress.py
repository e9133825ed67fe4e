"""``ponder eval``'s live progress bar: items done, running accuracy per spec, model calls, ETA."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..eval.arms import Arm


class EvalProgress:
    """A :class:`ponder.eval.evaluation.Progress` drawing one rich bar on stderr."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("eval"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[status]}"),
            console=console,
            transient=False,
        )
        self.task: TaskID | None = None
        self.tally: dict[str, list[int]] = {}
        self.calls = 0
        self.errors = 0

    def start(self, arms: Sequence[Arm], total: int, skipped: int) -> None:
        self.tally = {arm.name: [0, 0] for arm in arms}
        if skipped:
            self.console.print(f"{skipped} of {total} (item, spec) pairs already in results.jsonl: skipped")
        self.progress.start()
        self.task = self.progress.add_task("eval", total=total - skipped, status=self._status())

    def row(self, row: dict[str, Any]) -> None:
        right, done = self.tally.setdefault(str(row["spec"]), [0, 0])
        self.tally[str(row["spec"])] = [right + bool(row["correct"]), done + 1]
        self.calls += int(row.get("model_calls") or 0)
        self.errors += row.get("error") is not None
        if self.task is not None:
            self.progress.update(self.task, advance=1, status=self._status())

    def _status(self) -> str:
        parts = [
            f"{name} {right / done:.0%} of {done}" if done else f"{name} -"
            for name, (right, done) in self.tally.items()
        ]
        tail = f"  calls {self.calls}" + (f"  errors {self.errors}" if self.errors else "")
        return " · ".join(parts) + tail

    def stop(self) -> None:
        self.progress.stop()
