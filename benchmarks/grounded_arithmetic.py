"""What grounding buys the embedded model: single vs react+calculator, grounded or not, on fresh problems.

    .venv/bin/python benchmarks/grounded_arithmetic.py --direct 40 --word 0            # held-out split
    .venv/bin/python benchmarks/grounded_arithmetic.py --split tune --direct 12 --show  # look at failures

Problems come from :mod:`ponder.datasets.arithmetic` (``--split heldout`` uses its held-out seed, which no
tuning looked at). Variants: ``single`` (one pass), ``react`` (react with the calculator and
``--no-ground``: the grammar allows any arithmetic characters) and ``grounded`` (react's default: the
calculator's input is an expression of the question's and the observations' numbers); ``--variants``
may add ``vote`` (grounded react sampled up to 5 times, majority vote on the computed values). Prints one line
per problem as it finishes (``--show`` adds the tool inputs), then a Markdown table per problem kind:
accuracy with a 95% Wilson interval, runs that ended in format errors, mean model calls and seconds.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import ponder
from ponder.datasets import HELDOUT, TUNE, direct, word_problems
from ponder.strategies import React
from ponder.tools import calculator_tool

#: the default variants; ``vote`` (grounded react sampled up to 5 times, stopping early once the leading
#: computed value cannot be overtaken, anchored majority vote on the answers' numbers) may be added
VARIANTS = ("single", "react", "grounded")


def strategy(name: str) -> ponder.Strategy:
    if name == "single":
        return ponder.Single()
    if name == "vote":
        return ponder.Consistency(inner=React(tools=[calculator_tool()]), samples=5, anchor=True)
    return React(tools=[calculator_tool()], ground=name == "grounded")


def right(answer: str | None, gold: int) -> bool:
    """Whether the last number in the answer (a leading minus counts, commas are dropped) is the gold one."""
    found = re.findall(r"-?\d[\d,]*(?:\.\d+)?", answer or "")
    if not found:
        return False
    try:
        return abs(float(found[-1].replace(",", "")) - gold) < 1e-6
    except ValueError:
        return False


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def run_one(model: ponder.Model, name: str, item: dict[str, Any]) -> dict[str, Any]:
    tool_inputs: list[str] = []

    def sink(event: ponder.events.Event) -> None:
        if isinstance(event, ponder.events.ToolCalled):
            tool_inputs.append(str(event.arguments))

    engine = ponder.Engine(model, budget=ponder.Budget(max_steps=32 if name == "vote" else 6), sinks=[sink])
    t0 = time.perf_counter()
    result = engine.run(strategy(name), item["question"])
    return {
        "variant": name,
        "kind": item["kind"].split()[0],
        "ok": right(result.answer, item["answer"]),
        "answer": result.answer,
        "gold": item["answer"],
        "stop": result.stop_reason,
        "calls": result.usage.model_calls,
        "seconds": time.perf_counter() - t0,
        "inputs": tool_inputs,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--split", choices=("heldout", "tune"), default="heldout")
    parser.add_argument("--direct", type=int, default=40, help="direct-arithmetic questions")
    parser.add_argument("--word", type=int, default=0, help="word problems")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--show", action="store_true", help="print the tool inputs of each run")
    args = parser.parse_args(argv)
    seed = HELDOUT if args.split == "heldout" else TUNE
    items = direct(args.direct, seed) + word_problems(args.word, seed)
    variants = [v for v in args.variants.split(",") if v]
    model = ponder.load_model(args.model)
    load = os.getloadavg()[0]
    rows: list[dict[str, Any]] = []
    for item in items:
        for name in variants:  # the variants take turns on each problem: they see the same machine
            row = run_one(model, name, item)
            rows.append(row)
            mark = "ok " if row["ok"] else "BAD"
            extra = f"  inputs={row['inputs']}" if args.show else ""
            print(f"{mark} {name:9s} {item['question'][:60]!r:64s} -> {row['answer']!r} (gold {row['gold']}, "
                  f"{row['stop']}, {row['calls']} calls, {row['seconds']:.1f}s){extra}", flush=True)  # fmt: skip
    print()
    print(f"model {args.model}, split {args.split} (seed {seed}), {os.cpu_count()} cores, load average "
          f"{load:.2f} before, {os.getloadavg()[0]:.2f} after")  # fmt: skip
    print()
    print("| problems | variant | n | accuracy | 95% interval | format errors | mean calls | mean s |")
    print("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: |")
    for kind in dict.fromkeys(r["kind"] for r in rows):
        for name in variants:
            mine = [r for r in rows if r["kind"] == kind and r["variant"] == name]
            k, n = sum(r["ok"] for r in mine), len(mine)
            low, high = wilson(k, n)
            errors = sum(r["stop"] == "error" for r in mine)
            print(f"| {kind} | {name} | {n} | {k / n:.0%} | {low:.0%}–{high:.0%} | {errors} | "
                  f"{statistics.mean(r['calls'] for r in mine):.2f} | {statistics.mean(r['seconds'] for r in mine):.1f} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
