"""Live display of a run in the terminal: each pass streams as it is produced.

The calls of a batch start together and do not stream, so a batch gets one
header ("steps 5-104: classify ×100") when it starts instead of a rule each.
"""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from ..engine.prices import cost_line
from ..events import Event, StepRecorded, StepStarted, ToolCalled
from ..guards.text import for_terminal, terminal_text
from ..result import RunResult


class LiveView:
    """An event sink plus a text observer that print a run as it happens.

    Everything it shows that did not come from ponder (model text, tool output, the answer, a model's
    name) goes through :func:`ponder.guards.text.terminal_text`: no escape sequence reaches the terminal and no
    rich markup in it is interpreted."""

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
            kind = for_terminal(event.kind, one_line=True)
            title = f"step {first}: {kind}" if first == last else f"steps {first}-{last}: {kind} ×{event.batch}"
            self._batch_left = event.batch - 1
            self.console.print()
            self.console.rule(Text("  " * event.depth + title, style="bold cyan"), align="left")
            return
        if isinstance(event, StepRecorded):
            self.console.print()
            self.console.print(terminal_text(f"  [{event.kind}] {event.text}", "dim"))
        elif isinstance(event, ToolCalled):
            args = event.arguments if isinstance(event.arguments, str) else repr(event.arguments)
            self.console.print(terminal_text(f"{event.tool}({args[:200]})", "yellow"))
            shown = event.output if event.ok else "\n".join(p for p in (event.output, f"Error: {event.error}") if p)
            self.console.print(terminal_text(shown[:2000] or "(no output)", "green" if event.ok else "red"))

    def on_text(self, step: int, kind: str, piece: str) -> None:
        self.console.out(terminal_text(piece), end="", highlight=False)

    def summary(self, result: RunResult) -> None:
        u = result.usage
        self.console.print()
        answer = terminal_text(result.answer) if result.answer else Text("(no answer)")
        self.console.print(Panel(answer, title="answer", title_align="left"))
        line = Text.assemble("stop reason: ", terminal_text(result.stop_reason, "bold", one_line=True))
        if result.detail:
            line.append_text(Text.assemble(" (", terminal_text(result.detail, one_line=True), ")"))
        line.append(
            f"\nmodel calls: {u.model_calls}   prompt tokens: {u.prompt_tokens}"
            f" (evaluated {u.prompt_tokens_evaluated})   completion tokens: {u.completion_tokens}"
            f"\ntime: {result.seconds:.1f}s   model: "
        )
        line.append_text(terminal_text(result.model, one_line=True))
        line.append("   strategy: ")
        line.append_text(terminal_text(result.strategy, one_line=True))
        cost = cost_line(u.cost, {name: used.cost for name, used in result.usage_by_model.items()})
        if cost is not None:
            line.append("\ncost: ")
            line.append_text(terminal_text(cost, one_line=True))
        self.console.print(line, highlight=False)
