"""GSM8K: single pass vs self-consistency (N=5, N=10; adaptive and not) on one model.

    .venv/bin/python benchmarks/gsm8k_consistency.py --n 100 --minutes 25 [--model smollm2]

Every configuration answers the same problems with the same prompt (a
step-by-step instruction ending in "The answer is N."). ``single`` is one
greedy pass (temperature 0); consistency samples at temperature 0.7 with seeds
0..N-1 and votes over the last number of each sample.

**Shared calls.** A model call is a deterministic function of its messages and
options (fixed seeds), so the configurations share calls through a cache: the
N=10 run draws samples 0..9 and N=5 reuses samples 0..4, exactly the calls it
would have made alone. Each configuration's *time per problem* is therefore the
sum of the measured durations of the model calls it made (measured once, when
the call really ran), not the wall time of a cache hit; its *model calls* are
the calls it made (hits included). The extra row "one sample at T=0.7" is the
mean accuracy of a single sample (over the 10 seeds), so a vote's gain over its
own samples is visible.

**Anchored** rows use ``Consistency(anchor=True)``: sample 0 is the greedy
answer (the single pass's call; at temperature 0 the seed does not matter, so
the cache shares it) and samples 1..N-1 are the same T=0.7 samples as the
plain rows; the greedy answer stands unless another answer has more than half
of the votes.

With ``--minutes``, no new problem is started after that much wall time; the
table says how many problems were run. Per-problem records go to ``--out``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ponder
from ponder.steps import SAMPLE
from ponder.strategies import Consistency
from tasks import Task, correct, gsm8k

SYSTEM = (
    "You are a careful assistant. Solve the math problem step by step, "
    "then give the final answer on its own line as: The answer is <number>."
)


class SharedCalls:
    """A model wrapper that answers repeated identical calls from a cache and counts the original call time."""

    def __init__(self, model: ponder.Model) -> None:
        self.model = model
        self.name = model.name
        self.context_window = model.context_window
        self.supports_tools = model.supports_tools
        self.supports_concurrency = model.supports_concurrency
        self.supports_grammar = model.supports_grammar
        self._cache: dict[Any, tuple[ponder.Completion, float]] = {}
        self.seconds = 0.0  # model time of the calls made since the last reset
        self.real_calls = 0

    def count_tokens(self, text: str) -> int:
        return self.model.count_tokens(text)

    def complete(self, messages: Any, options: ponder.GenerationOptions, on_text: Any = None, tools: Any = None) -> Any:
        if options.temperature == 0:  # greedy decoding ignores the seed: one call serves every seed
            options = dataclasses.replace(options, seed=None)
        key = (tuple((m.role, m.content) for m in messages), options)
        if key not in self._cache:
            t0 = time.perf_counter()
            completion = self.model.complete(messages, options, on_text, tools)
            self._cache[key] = (completion, time.perf_counter() - t0)
            self.real_calls += 1
        completion, seconds = self._cache[key]
        self.seconds += seconds
        return completion

    def forget(self) -> None:
        self._cache.clear()


@dataclass
class Row:
    name: str
    right: int = 0
    calls: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def configs() -> list[tuple[str, ponder.Strategy]]:
    """Every configuration, in table order (single first)."""
    rows: list[tuple[str, ponder.Strategy]] = [("single (greedy)", ponder.Single(system_prompt=SYSTEM))]
    for anchor in (False, True):
        for n in (5, 10):
            for adaptive in (True, False):
                name = f"consistency N={n}" + (" anchored" if anchor else "") + (" adaptive" if adaptive else "")
                rows.append((name, Consistency(samples=n, adaptive=adaptive, anchor=anchor, system_prompt=SYSTEM)))
    return rows


#: the run whose samples are reported one by one (T=0.7 seeds 0..9); it runs first and fills the cache
SAMPLED = "consistency N=10"


def run_order() -> list[tuple[str, ponder.Strategy]]:
    rows = configs()
    return sorted(rows, key=lambda row: row[0] != SAMPLED)


def solve(model: SharedCalls, task: Task, max_tokens: int) -> dict[str, Any]:
    record: dict[str, Any] = {"question": task.question[:80], "gold": task.answer, "runs": {}}
    for name, strategy in run_order():
        engine = ponder.Engine(
            model, budget=ponder.Budget(max_steps=None), options=ponder.GenerationOptions(max_tokens=max_tokens)
        )
        model.seconds = 0.0
        result = engine.run(strategy, task.question)
        samples = [s.text for s in result.steps if s.kind == SAMPLE]
        record["runs"][name] = {
            "answer": (result.answer or "")[-200:],
            "correct": correct(result.answer, task.answer),
            "calls": result.usage.model_calls,
            "model_seconds": round(model.seconds, 2),
            "detail": result.detail,
        }
        if name == SAMPLED:
            record["sample_correct"] = [correct(t, task.answer) for t in samples]
    model.forget()  # problems share no calls; keep memory flat
    return record


def table(records: list[dict[str, Any]]) -> str:
    lines = [
        "| configuration | problems | accuracy | model calls / problem | model s / problem (mean) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    n = len(records)
    for name, _ in configs():
        runs = [r["runs"][name] for r in records]
        acc = sum(r["correct"] for r in runs) / n
        calls = statistics.mean(r["calls"] for r in runs)
        secs = statistics.mean(r["model_seconds"] for r in runs)
        lines.append(f"| {name} | {n} | {acc:.1%} ({sum(r['correct'] for r in runs)}/{n}) | {calls:.1f} | {secs:.1f} |")
    per_sample = [c for r in records for c in r["sample_correct"]]
    if per_sample:
        acc = sum(per_sample) / len(per_sample)
        lines.append(f"| one sample at T=0.7 (mean of {len(per_sample)}) | {n} | {acc:.1%} | 1 | – |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--n", type=int, default=100, help="problems (from the start of the test split)")
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--max-tokens", type=int, default=192)
    parser.add_argument("--minutes", type=float, default=None, help="start no new problem after this wall time")
    parser.add_argument("--out", type=Path, default=None, help="write per-problem records (JSON lines) here")
    parser.add_argument("--data", type=Path, default=None, help="GSM8K jsonl (default ../shared/data/gsm8k/test.jsonl)")
    args = parser.parse_args(argv)
    if args.n < 1 or args.max_tokens < 1:
        parser.error("--n and --max-tokens must be >= 1")
    model = SharedCalls(ponder.load_model(args.model))
    tasks = gsm8k(args.n, args.offset, args.data)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    records: list[dict[str, Any]] = []
    out = args.out.open("w", encoding="utf-8") if args.out else None
    try:
        for i, task in enumerate(tasks):
            if args.minutes is not None and time.perf_counter() - started > args.minutes * 60:
                break
            record = solve(model, task, args.max_tokens)
            records.append(record)
            if out is not None:
                out.write(json.dumps(record) + "\n")
                out.flush()
            marks = " ".join(f"{k}={'+' if v['correct'] else '-'}{v['calls']}" for k, v in record["runs"].items())
            print(f"[{i + 1}/{len(tasks)} {time.perf_counter() - started:.0f}s] {marks}", flush=True)
    finally:
        if out is not None:
            out.close()
    if not records:
        print("no problem finished")
        return 1
    wall = time.perf_counter() - started
    print()
    print(
        f"GSM8K test problems {args.offset}..{args.offset + len(records) - 1} ({len(records)} of {args.n} asked), "
        f"model {model.name}, max_tokens {args.max_tokens}, {model.real_calls} distinct model calls, "
        f"wall {wall / 60:.1f} min, {os.cpu_count()} cores, load average before/after "
        f"{load_before:.2f}/{os.getloadavg()[0]:.2f}"
    )
    print()
    print(table(records))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
