"""What the engine costs per step, measured against a bare loop over the same fake model.

A strategy yields ``--steps`` ``ponder.Generate`` requests to ``ponder.Engine`` with
the shipped ``ponder.ScriptedModel``; the baseline is a plain Python loop calling
the same ``ScriptedModel.complete`` with the same messages and options the same
number of times. Every repeat runs all configurations one after the other (so
machine noise hits them alike) and the table reports median and min µs per step.

    .venv/bin/python benchmarks/engine_overhead.py               # 1,000 steps, 7 repeats
    .venv/bin/python benchmarks/engine_overhead.py --steps 20 --repeats 1   # quick check

Uses only the public API (``import ponder``).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Generator, Sequence

import ponder

QUESTION = "What were the primary causes of the fall of the Western Roman Empire?"
REPLY = "The empire fell for many reasons, among them fiscal strain, pressure on the frontiers and civil wars."
MESSAGES = (
    ponder.Message("system", "You are a careful assistant."),
    ponder.Message("user", QUESTION),
)
OPTIONS = ponder.GenerationOptions()
TARGET_US = 50.0

ROW_BARE = "bare loop (model.complete)"
ROW_ENGINE = "engine"
ROW_TRACE = "engine + JSONL trace"
ROW_WATCHED = "engine + max_seconds (each call on a watched thread)"
ROWS = (ROW_BARE, ROW_ENGINE, ROW_TRACE, ROW_WATCHED)


class Repeat:
    """A strategy that asks the model ``steps`` times with the same messages."""

    name = "repeat"

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def run(self, question: str) -> Generator[ponder.Generate, ponder.Completion, ponder.Outcome]:
        last = ""
        for _ in range(self.steps):
            last = (yield ponder.Generate(MESSAGES)).text
        return ponder.Outcome(last)


def _model() -> ponder.ScriptedModel:
    return ponder.ScriptedModel(lambda messages: REPLY)


def time_bare(steps: int) -> float:
    """Seconds for ``steps`` direct calls of ``ScriptedModel.complete``."""
    model = _model()
    complete = model.complete
    gc.collect()
    t0 = time.perf_counter()
    for _ in range(steps):
        complete(MESSAGES, OPTIONS)
    return time.perf_counter() - t0


def time_engine(steps: int, trace_dir: str | None = None, watched: bool = False) -> float:
    """Seconds for one engine run of ``steps`` model calls (optionally traced to a JSONL file; ``watched``:
    with a time limit, so each call runs on a helper thread the engine waits on with a deadline)."""
    model = _model()
    budget = ponder.Budget(max_steps=steps, max_seconds=3600.0 if watched else None)
    strategy = Repeat(steps)
    if trace_dir is None:
        engine = ponder.Engine(model, budget=budget, options=OPTIONS)
        gc.collect()
        t0 = time.perf_counter()
        result = engine.run(strategy, QUESTION)
        seconds = time.perf_counter() - t0
    else:
        with open(os.path.join(trace_dir, "trace.jsonl"), "w", encoding="utf-8") as stream:
            engine = ponder.Engine(model, budget=budget, options=OPTIONS, sinks=[ponder.JsonlTrace(stream)])
            gc.collect()
            t0 = time.perf_counter()
            result = engine.run(strategy, QUESTION)
            seconds = time.perf_counter() - t0
    if result.usage.model_calls != steps or result.stop_reason != "answered":
        raise RuntimeError(
            f"expected {steps} calls and 'answered', got {result.usage.model_calls} / {result.stop_reason}"
        )
    return seconds


def measure(steps: int, repeats: int) -> dict[str, list[float]]:
    """µs per step for each configuration, one sample per repeat."""
    samples: dict[str, list[float]] = {row: [] for row in ROWS}
    with tempfile.TemporaryDirectory(prefix="ponder-bench-") as trace_dir:
        runners: dict[str, Callable[[], float]] = {
            ROW_BARE: lambda: time_bare(steps),
            ROW_ENGINE: lambda: time_engine(steps),
            ROW_TRACE: lambda: time_engine(steps, trace_dir),
            ROW_WATCHED: lambda: time_engine(steps, watched=True),
        }
        for fn in runners.values():  # warm up (imports, prompt files, allocator)
            fn()
        for _ in range(repeats):
            for row, fn in runners.items():
                samples[row].append(fn() / steps * 1e6)
    return samples


def table(samples: dict[str, list[float]]) -> str:
    bare_med = statistics.median(samples[ROW_BARE])
    bare_min = min(samples[ROW_BARE])
    lines = [
        "| configuration | µs/step median | µs/step min | overhead µs/step (median) | overhead µs/step (min) | ratio to bare (median) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in ROWS:
        med, low = statistics.median(samples[row]), min(samples[row])
        if row == ROW_BARE:
            lines.append(f"| {row} | {med:.2f} | {low:.2f} | – | – | 1.00 |")
        else:
            lines.append(
                f"| {row} | {med:.2f} | {low:.2f} | {med - bare_med:.2f} | {low - bare_min:.2f} | {med / bare_med:.2f} |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--steps", type=int, default=1000, help="model calls per run (default 1000)")
    parser.add_argument("--repeats", type=int, default=7, help="repeats of each configuration (default 7)")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.repeats < 1:
        parser.error("--steps and --repeats must be >= 1")
    load_before = os.getloadavg()[0]
    samples = measure(args.steps, args.repeats)
    print(
        f"engine overhead: {args.steps} steps per run, {args.repeats} repeats, ScriptedModel, "
        f"python {sys.version.split()[0]}, load average before/after {load_before:.2f}/{os.getloadavg()[0]:.2f}"
    )
    print()
    print(table(samples))
    overhead = statistics.median(samples[ROW_ENGINE]) - statistics.median(samples[ROW_BARE])
    verdict = "met" if overhead < TARGET_US else "NOT met"
    print()
    print(f"target: engine overhead < {TARGET_US:.0f} µs/step: {verdict} ({overhead:.2f} µs/step, median)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
