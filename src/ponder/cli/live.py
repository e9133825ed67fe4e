"""Live display of a run in the terminal: each pass streams as it is produced.

The calls of a batch start together and do not stream, so a batch gets one
header ("steps 5-104: classify ×100") when it starts instead of a rule each.
"""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from ..events import Event, StepRecorded, StepStarted, ToolCalled
from ..result import RunResult


class LiveView:
    """An event sink plus a text observer that print a run as it happens."""

    def __init__(self, console: Console) -> None:
        self.console = console
        #: starts still to come of the batch whose header is shown
        self._batch_left = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            if self._batch_left > 0:
                self._batch_left -= 1
                return
            first, last = event.step + 1, event.step + event.batch
            title = (
                f"step {first}: {event.kind}" if first == last else f"steps {first}-{last}: {event.kind} ×{event.batch}"
            )
            self._batch_left = event.batch - 1
            self.console.print()
            self.console.rule(Text("  " * event.depth + title, style="bold cyan"), align="left")
            return
        if isinstance(event, StepRecorded):
            self.console.print()
            self.console.print(Text(f"  [{event.kind}] {event.text}", style="dim"))
        elif isinstance(event, ToolCalled):
            args = event.arguments if isinstance(event.arguments, str) else repr(event.arguments)
            self.console.print(Text(f"{event.tool}({args[:200]})", style="yellow"))
            shown = event.output if event.ok else "\n".join(p for p in (event.output, f"Error: {event.error}") if p)
            self.console.print(Text(shown[:2000] or "(no output)", style="green" if event.ok else "red"))

    def on_text(self, step: int, kind: str, piece: str) -> None:
        self.console.out(piece, end="", highlight=False)

    def summary(self, result: RunResult) -> None:
        u = result.usage
        self.console.print()
        self.console.print(Panel(result.answer or "(no answer)", title="answer", title_align="left"))
        self.console.print(
            f"stop reason: [bold]{result.stop_reason}[/bold]"
            + (f" ({result.detail})" if result.detail else "")
            + f"\nmodel calls: {u.model_calls}   prompt tokens: {u.prompt_tokens}"
            f" (evaluated {u.prompt_tokens_evaluated})   completion tokens: {u.completion_tokens}"
            f"\ntime: {result.seconds:.1f}s   model: {result.model}   strategy: {result.strategy}",
            highlight=False,
        )
