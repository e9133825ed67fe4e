"""single vs react (calculator / python) on arithmetic word problems and GSM8K, on one model.

    python benchmarks/react_vs_single.py --arith 50 --gsm8k 50 [--model smollm2]

Prints accuracy and median seconds per problem for each (task set, strategy).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ponder
from ponder.strategies import React
from ponder.tools import calculator_tool, python_tool
from tasks import Task, arithmetic_problems, correct, gsm8k


def evaluate(model: ponder.Model, strategy: ponder.Strategy, tasks: list[Task], max_tokens: int) -> dict[str, float]:
    right, seconds, calls = 0, [], []
    for task in tasks:
        engine = ponder.Engine(
            model, budget=ponder.Budget(max_steps=6), options=ponder.GenerationOptions(max_tokens=max_tokens)
        )
        t0 = time.perf_counter()
        result = engine.run(strategy, task.question)
        seconds.append(time.perf_counter() - t0)
        calls.append(result.usage.model_calls)
        right += correct(result.answer, task.answer)
    return {
        "n": len(tasks),
        "accuracy": right / len(tasks),
        "median_s": statistics.median(seconds),
        "mean_calls": statistics.mean(calls),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--arith", type=int, default=50)
    parser.add_argument("--gsm8k", type=int, default=50)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--no-python", action="store_true", help="skip the react+python rows")
    args = parser.parse_args(argv)
    model = ponder.load_model(args.model)
    sets = [("arithmetic", arithmetic_problems(args.arith)), ("gsm8k", gsm8k(args.gsm8k))]
    rows = []
    sandbox = None
    strategies: list[tuple[str, ponder.Strategy]] = [
        ("single", ponder.Single()),
        ("react+calculator", React(tools=[calculator_tool()])),
    ]
    if not args.no_python:
        from ponder.sandbox import Sandbox, SandboxConfig

        sandbox = Sandbox(SandboxConfig())
        strategies.append(("react+python", React(tools=[python_tool(sandbox)])))
    try:
        for set_name, tasks in sets:
            if not tasks:
                continue
            for name, strategy in strategies:
                stats = evaluate(model, strategy, tasks, args.max_tokens)
                rows.append((set_name, name, stats))
                print(
                    f"{set_name:11} {name:17} n={stats['n']:3} acc={stats['accuracy']:.0%} median={stats['median_s']:.1f}s calls={stats['mean_calls']:.1f}",
                    flush=True,
                )
    finally:
        if sandbox is not None:
            sandbox.close()
    print()
    print("| task set | strategy | n | accuracy | median s/problem | mean model calls |")
    print("|---|---|---|---|---|---|")
    for set_name, name, s in rows:
        print(f"| {set_name} | {name} | {s['n']} | {s['accuracy']:.0%} | {s['median_s']:.1f} | {s['mean_calls']:.1f} |")


if __name__ == "__main__":
    main()
