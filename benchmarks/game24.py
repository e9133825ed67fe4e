"""Game of 24 (the Tree-of-Thoughts paper's slice): IO, CoT, CoT-SC and tree search on one model.

    python benchmarks/game24.py [--start 900 --end 1000] [--time-limit 1800] [--model smollm2]

Puzzles are rows ``start..end-1`` (0-based) of ``24.csv`` in file order, as in
the ToT code (``pd.read_csv(...)['Puzzles'][900:1000]``): Rank 901–1000.
By default each method runs over all the puzzles in turn (``--order method``:
its few-shot prefix stays in the KV cache); ``--order puzzle`` runs every
method on a puzzle before the next (fairer timing on a noisy machine) and can
stop starting new puzzles after ``--time-limit`` seconds. A puzzle counts as solved only
if the final expression passes the exact check (each number once, exactly 24).

Methods (``--methods``, comma-separated):

* ``io``: few-shot, one call, the expression only (greedy);
* ``cot``: few-shot chain of thought, one call (greedy);
* ``cot-sc``: ``--samples`` CoT samples at temperature 0.7, majority vote on
  the expression (``ponder`` consistency strategy, adaptive: stops once the
  vote cannot change);
* ``tree-model``: tree BFS, the model writes whole steps ``a op b = c (left: ...)``;
  the checker rejects wrong arithmetic (model-only arithmetic);
* ``tree-result``: as tree-model, but only the result ``c`` is checked; the
  program works out which numbers are left;
* ``tree-program``: tree BFS, the model picks ``a op b``, the program computes
  ``= c (left: ...)`` (program-assisted arithmetic);
* ``tree-constrained``: as tree-program, with proposals decoded under a GBNF
  grammar whose operands are the numbers still available (embedded backend);
* ``tree-oracle``: as tree-program, but states are valued by an exhaustive
  solver instead of the model: the ceiling of the model's proposals, not a
  model result; ``tree-constrained-oracle``: the same for tree-constrained.

Tree variants: propose (``--branch`` thoughts per call), LM value
(sure/likely/impossible, greedy, one sample), beam ``--beam``, depth 3.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ponder
from ponder.steps import NODE
from ponder.strategies import Consistency, Tree
from ponder.tasks import Game24, check_expression, extract_expression, solve
from ponder.tasks.base import chat_prompt

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "game24" / "24.csv"
METHODS = (
    "io",
    "cot",
    "cot-sc",
    "tree-model",
    "tree-result",
    "tree-program",
    "tree-constrained",
    "tree-oracle",
    "tree-constrained-oracle",
)
#: the GPT-4 success rates reported by Yao et al. (2023), Table 2
PAPER = {"io": "7.3%", "cot": "4.0%", "cot-sc": "9.0% (k=100)", "tree-model": "74% (b=5)", "tree-program": "–"}
LABELS = {
    "io": "IO (few-shot)",
    "cot": "CoT (few-shot)",
    "cot-sc": "CoT-SC",
    "tree-model": "tree, model computes steps",
    "tree-result": "tree, model computes results, program tracks numbers left",
    "tree-program": "tree, program computes steps",
    "tree-constrained": "tree, program computes, proposals constrained to available numbers (grammar)",
    "tree-oracle": "tree, program computes + solver as evaluator (ceiling, not a model result)",
    "tree-constrained-oracle": "tree, constrained proposals + solver as evaluator (ceiling, not a model result)",
}


def load_puzzles(path: Path, start: int, end: int) -> list[tuple[int, str]]:
    """(rank, puzzle) for 0-based data rows start..end-1 of the csv."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return [(int(r["Rank"]), r["Puzzles"]) for r in rows[start:end]]


@dataclass(frozen=True)
class FewShot:
    """One call with a few-shot chat prompt from ``ponder/prompts`` (IO or CoT)."""

    prompt: str
    name: str = "few-shot"

    def run(self, question: str) -> ponder.requests.StrategyGen:
        numbers = question.split(":")[-1].strip()
        completion = yield ponder.Generate.of(chat_prompt(self.prompt, question=numbers), kind="answer")
        return ponder.Outcome(completion.text.strip())


def expression_key(text: str) -> str | None:
    found = extract_expression(text)
    return "".join(found.split()) if found else None


def oracle(state: Any) -> float:
    return 1.0 if solve(state.numbers) else 0.0


def build(method: str, args: argparse.Namespace) -> tuple[ponder.Strategy, int, int]:
    """The strategy, its step budget and its per-call token limit."""
    if method == "io":
        return FewShot("game24/io"), 1, 48
    if method == "cot":
        return FewShot("game24/cot"), 1, 160
    if method == "cot-sc":
        strategy = Consistency(
            inner=FewShot("game24/cot"),
            samples=args.samples,
            temperature=0.7,
            extract=expression_key,
            answer="extracted",
        )
        return strategy, args.samples, 160
    arithmetic = {"tree-model": "model", "tree-result": "result"}.get(method, "program")
    evaluator: str | Callable[[Any], float] = oracle if method.endswith("oracle") else "value"
    tree = Tree(
        task=Game24(arithmetic=arithmetic, constrained=method.startswith("tree-constrained")),  # type: ignore[arg-type]
        branch=args.branch,
        beam=args.beam,
        evaluator=evaluator,  # type: ignore[arg-type]
    )
    return tree, 400, 200


def solved(answer: str | None, numbers: list[int]) -> bool:
    """Checked independently of the strategy: the expression in the answer is exactly 24, each number once."""
    expression = (extract_expression(answer) or answer) if answer else None
    return expression is not None and check_expression(expression, numbers).ok


def run_one(model: ponder.Model, method: str, args: argparse.Namespace, rank: int, puzzle: str) -> dict[str, Any]:
    strategy, steps, max_tokens = build(method, args)
    engine = ponder.Engine(
        model, budget=ponder.Budget(max_steps=steps), options=ponder.GenerationOptions(max_tokens=max_tokens)
    )
    question = f"Use {puzzle} to make 24" if method.startswith("tree") else f"Numbers: {puzzle}"
    t0 = time.perf_counter()
    result = engine.run(strategy, question)
    nodes = [s.data for s in result.steps if s.kind == NODE and s.data.get("depth", 0) >= 1]
    return {
        "rank": rank,
        "puzzle": puzzle,
        "method": method,
        "solved": solved(result.answer, [int(n) for n in puzzle.split()]),
        "answer": result.answer,
        "calls": result.usage.model_calls,
        "seconds": round(time.perf_counter() - t0, 2),
        "stop": result.stop_reason,
        # tree methods: thoughts proposed below the root, and how many the step check rejected
        "thoughts": len({n["node"] for n in nodes}),
        "invalid": len({n["node"] for n in nodes if n["status"] == "invalid"}),
    }


def main(argv: list[str] | None = None, model: ponder.Model | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--start", type=int, default=900)
    parser.add_argument("--end", type=int, default=1000)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--samples", type=int, default=5, help="CoT-SC samples")
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--branch", type=int, default=8, help="thoughts per propose call")
    parser.add_argument(
        "--threads", type=int, default=None, help="llama.cpp threads (1 copes best with a busy machine)"
    )
    parser.add_argument(
        "--order",
        choices=["method", "puzzle"],
        default="method",
        help="method: each method over all puzzles in turn (its prompt prefix stays cached); "
        "puzzle: all methods on one puzzle, then the next (fairer on a noisy machine, works with --time-limit)",
    )
    parser.add_argument("--time-limit", type=float, default=None, help="--order puzzle: start no new puzzle after this")
    parser.add_argument("--out", type=Path, default=None, help="append one JSON line per (puzzle, method)")
    args = parser.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown or not methods:
        parser.error(f"unknown methods {unknown}; choose from {', '.join(METHODS)}")
    if args.time_limit is not None and args.order != "puzzle":
        parser.error("--time-limit needs --order puzzle (so every method gets the same puzzles)")
    puzzles = load_puzzles(args.data, args.start, args.end)
    model = model or ponder.load_model(args.model, **({"threads": args.threads} if args.threads else {}))
    print(f"# Game of 24, rows {args.start}-{args.end - 1} (ranks {puzzles[0][0]}-{puzzles[-1][0]}), model {model.name}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    results: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
    began = time.perf_counter()
    out = args.out.open("a", encoding="utf-8") if args.out else None

    def record(row: dict[str, Any]) -> None:
        results[row["method"]].append(row)
        flag = "Y" if row["solved"] else "."
        print(
            f"{row['rank']} {row['puzzle']:12} {row['method']:13} {flag} {row['calls']:3}c {row['seconds']:6.1f}s",
            flush=True,
        )
        if out is not None:
            out.write(json.dumps(row) + "\n")
            out.flush()

    if args.order == "method":
        for method in methods:
            for rank, puzzle in puzzles:
                record(run_one(model, method, args, rank, puzzle))
    else:
        for rank, puzzle in puzzles:
            if args.time_limit is not None and time.perf_counter() - began > args.time_limit:
                break
            for method in methods:
                record(run_one(model, method, args, rank, puzzle))
    if out is not None:
        out.close()
    n = len(results[methods[0]])
    print(f"\n{n} puzzles, {time.perf_counter() - began:.0f} s, load {os.getloadavg()[0]:.1f}\n")
    print(
        "| method | solved | success | model calls / puzzle | s / puzzle (median) | thoughts rejected | GPT-4 (paper) |"
    )
    print("|---|---|---|---|---|---|---|")
    for method in methods:
        rows = results[method]
        wins = sum(r["solved"] for r in rows)
        calls = statistics.mean(r["calls"] for r in rows)
        seconds = statistics.median(r["seconds"] for r in rows)
        thoughts, invalid = sum(r["thoughts"] for r in rows), sum(r["invalid"] for r in rows)
        rejected = f"{invalid}/{thoughts} ({invalid / thoughts:.0%})" if thoughts else "–"
        print(f"| {LABELS[method]} | {wins}/{len(rows)} | {wins / len(rows):.0%} | {calls:.1f} | {seconds:.1f} | {rejected} | {PAPER.get(method, '–')} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
