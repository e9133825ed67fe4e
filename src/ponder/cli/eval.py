"""``ponder eval``: compare strategies (run specs) on a dataset, resumably, on local workers or Ray.

A thin shell over :mod:`ponder.eval`: the spec flags are ``ponder ask``'s
(:mod:`.spec_options`); each ``--strategy`` and each ``--spec FILE`` is one spec
under evaluation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from ..datasets import HELDOUT, TUNE, direct, word_problems
from ..datasets.templated import arithmetic, write_jsonl
from ..eval import EvalOptions, Fields, arms_from_flags, evaluate, load_resumed, select
from ..eval.report import markdown
from ..eval.scorers import SCORERS
from ..spec import RunSpec
from ..spec.run import implied_strategy
from ..strategies import entries
from .eval_progress import EvalProgress
from .items_file import write_items
from .public_data import COMMANDS
from .spec_options import given_flags, spec_options


def _max_errors(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a count or a fraction", param_hint="'--max-errors'") from None
    if number <= 0 or (number >= 1 and not number.is_integer()):
        raise click.BadParameter("give a count (1, 2, ...) or a fraction in (0, 1)", param_hint="'--max-errors'")
    return number


@click.command("eval")
@click.argument("data", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--strategy",
    "-s",
    "strategies",
    default=None,
    help=f"Comma-separated strategies to compare, the first the baseline ({', '.join(entries())}); default single.",
)
@click.option(
    "--spec",
    "spec_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A run spec file to evaluate as well (repeatable); flags given beside it override its fields.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("eval-out"),
    show_default=True,
    help="Folder of results.jsonl, summary.json, report.md, report.png and eval.json (a rerun resumes there).",
)
@click.option(
    "--scorer",
    default="auto",
    show_default=True,
    help=f"How answers are scored: {', '.join(SCORERS)}; auto: number if every gold answer is a number, else exact.",
)
@click.option(
    "--question-field",
    default=None,
    help="The field holding the question (default: question, input, prompt or problem).",
)
@click.option(
    "--answer-field",
    default=None,
    help="The field holding the gold answer (default: answer, gold, target, label or output).",
)
@click.option(
    "--id-field",
    default=None,
    help="The field holding the item id (default: id when every record has a unique one, else the line number;"
    " a rerun into --out keeps the choice its eval.json records).",
)
@click.option(
    "--context-field", default=None, help="The field holding an item's context for recursive (text, or @PATH)."
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N items (after --sample).")
@click.option(
    "--sample", type=click.IntRange(min=1), default=None, help="A random sample of N items (seeded by --sample-seed)."
)
@click.option("--sample-seed", type=int, default=None, help="The sample's seed (default: --seed).")
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Items run at once on this machine.",
)
@click.option(
    "--ray",
    "ray_address",
    default=None,
    metavar="ADDRESS|local",
    help="Run items as Ray tasks on a cluster (or a local one).",
)
@click.option(
    "--in-flight",
    type=click.IntRange(min=1),
    default=None,
    help="With --ray: tasks submitted at once (default: --workers if given, else the cluster's CPUs).",
)
@click.option("--retry-errors", is_flag=True, help="Rerun the items whose last row has an error.")
@click.option(
    "--max-errors",
    default=None,
    metavar="N|FRACTION",
    help="Stop after N errors, or when more than FRACTION of the items run failed (from the 10th item on).",
)
@click.option("--json", "as_json", is_flag=True, help="Print only the summary, as JSON (no progress bar).")
@click.option("--dry-run", is_flag=True, help="Print the specs under evaluation (JSON lines) and run nothing.")
@spec_options(trace=False)
def eval_command(
    data: Path,
    strategies: str | None,
    spec_files: tuple[Path, ...],
    out: Path,
    scorer: str,
    question_field: str | None,
    answer_field: str | None,
    id_field: str | None,
    context_field: str | None,
    limit: int | None,
    sample: int | None,
    sample_seed: int | None,
    workers: int,
    ray_address: str | None,
    in_flight: int | None,
    retry_errors: bool,
    max_errors: str | None,
    as_json: bool,
    dry_run: bool,
    **flags: Any,
) -> None:
    """Run every item of DATA (JSONL, CSV or a folder of them) under every spec; write results.jsonl,
    summary.json, report.md and report.png into --out. A rerun skips what is done."""
    ctx = click.get_current_context()
    given = given_flags(ctx)
    names = [s.strip() for s in (strategies or "").split(",") if s.strip()]
    if not names and not spec_files:
        names = ["single"]
    if context_field is not None:  # a per-item context implies a strategy that reads one, as --context does for ask
        names = [implied_strategy(name, context_field) for name in names]
    arms = arms_from_flags(names, list(spec_files), flags, given)
    if dry_run:
        for arm in arms:
            click.echo(json.dumps({"name": arm.name, "hash": arm.hash, "spec": arm.spec.to_dict()}, ensure_ascii=False))
        return
    fields = Fields(question_field, answer_field, id_field, context_field)
    seed = sample_seed if sample_seed is not None else flags.get("seed") or 0
    items = select(load_resumed(data, fields, out), limit=limit, sample=sample, seed=seed)
    first: RunSpec = arms[0].spec
    options = EvalOptions(
        out=out,
        scorer=scorer,
        workers=workers,
        ray=ray_address,
        in_flight=in_flight,
        retry_errors=retry_errors,
        max_errors=_max_errors(max_errors),
        store=first.store,
        record=first.record,
        data=str(data),
    )
    console = Console(stderr=True)
    progress = None if as_json else EvalProgress(console)
    summary = evaluate(arms, items, options, progress)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
        return
    click.echo(markdown(summary))
    click.echo(f"wrote {out / 'results.jsonl'}, summary.json, report.md and report.png in {out}")


@click.group("generate")
def generate() -> None:
    """Write generated datasets (and slices of public benchmarks) for ponder eval."""


for _command in COMMANDS:
    generate.add_command(_command)


@generate.command("arithmetic")
@click.option("--items", "-n", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True, help="2026 is the benchmarks' development set.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
def generate_arithmetic(items: int, seed: int, output: Path) -> None:
    """Arithmetic word problems with exact answers, as JSONL (id, question, answer)."""
    try:
        with output.open("w", encoding="utf-8") as stream:
            write_jsonl(arithmetic(items, seed), stream)
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
    click.echo(f"wrote {items} problems to {output}")


@generate.command("direct")
@click.option("--items", "-n", type=click.IntRange(min=1, max=1_000_000), default=100, show_default=True)
@click.option("--seed", type=int, default=HELDOUT, show_default=True, help=f"{HELDOUT}: held out; {TUNE}: tuning.")
@click.option("--terms", type=click.IntRange(min=2, max=8), default=4, show_default=True, help="Most terms.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
def generate_direct(items: int, seed: int, terms: int, output: Path) -> None:
    """Direct arithmetic ("What is 347 + 589 - 212?", 2 to --terms 3-digit terms, + - *), as JSONL."""
    write_items(direct(items, seed, terms=(2, terms)), output)


@generate.command("word")
@click.option("--items", "-n", type=click.IntRange(min=1, max=1_000_000), default=100, show_default=True)
@click.option("--seed", type=int, default=HELDOUT, show_default=True, help=f"{HELDOUT}: held out; {TUNE}: tuning.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
def generate_word(items: int, seed: int, output: Path) -> None:
    """Two-operation word problems (every pair of + - *, several phrasings, 2- and 3-digit numbers), as JSONL."""
    write_items(word_problems(items, seed), output)
