"""Live display of a run in the terminal: each pass streams as it is produced.

The calls of a batch start together and do not stream, so consecutive starts of
the same kind at the same depth are folded into one header ("steps 5-104:
classify ×100") instead of a rule each.
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
        #: started steps not shown yet: (first step, last step, kind, depth)
        self._started: tuple[int, int, str, int] | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            pending = self._started
            if pending is not None and (event.step, event.kind, event.depth) == (pending[1] + 1, *pending[2:]):
                self._started = (pending[0], event.step, event.kind, event.depth)
                return
            self._flush()
            self._started = (event.step, event.step, event.kind, event.depth)
            return
        self._flush()
        if isinstance(event, StepRecorded):
            self.console.print()
            self.console.print(Text(f"  [{event.kind}] {event.text}", style="dim"))
        elif isinstance(event, ToolCalled):
            args = event.arguments if isinstance(event.arguments, str) else repr(event.arguments)
            self.console.print(Text(f"{event.tool}({args[:200]})", style="yellow"))
            shown = event.output if event.ok else "\n".join(p for p in (event.output, f"Error: {event.error}") if p)
            self.console.print(Text(shown[:2000] or "(no output)", style="green" if event.ok else "red"))

    def _flush(self) -> None:
        """Print the header of the started steps not shown yet."""
        if self._started is None:
            return
        first, last, kind, depth = self._started
        self._started = None
        if first == last:
            title = f"step {first + 1}: {kind}"
        else:
            title = f"steps {first + 1}-{last + 1}: {kind} ×{last - first + 1}"
        self.console.print()
        self.console.rule(Text("  " * depth + title, style="bold cyan"), align="left")

    def on_text(self, step: int, kind: str, piece: str) -> None:
        self._flush()
        self.console.out(piece, end="", highlight=False)

    def summary(self, result: RunResult) -> None:
        self._flush()
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
