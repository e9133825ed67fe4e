"""What recording a run costs: µs per step and per event, engine alone vs the SQLite run store vs a JSONL trace.

A strategy makes N scripted model calls (``ponder.ScriptedModel``, replies from a
function) through ``ponder.Engine``; the rows run the same strategy with no sink,
with ``RunStore.sink()`` on a fresh file, and with ``JsonlTrace``. Each call is
two events (``step_started``, ``model_call``), plus the run's start and end.
Configurations alternate within each repeat; medians are reported.

``--baseline-src DIR`` (repeatable) runs the same measurement, in a subprocess,
with the ``ponder`` package found in DIR (e.g. a checkout of an older commit's
``src``), so before/after figures come from one run on one machine: the trees
take turns, one repeat each, and each figure is the median of its repeats.

``--short-runs N`` measures instead what a store costs a short run (one scripted
``single`` call, a server's request): N runs in turn, each opening the store,
recording and closing it, while another store of the file stays open (as
``ponder serve`` keeps one), against the same runs without a store; ms per run.

    .venv/bin/python benchmarks/store_overhead.py                       # 1,000 steps, 5 repeats
    .venv/bin/python benchmarks/store_overhead.py --baseline-src /tmp/old/src
    .venv/bin/python benchmarks/store_overhead.py --short-runs 200 --baseline-src /tmp/old/src
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import ponder
from ponder.types import user


class Calls:
    """N model calls, one at a time."""

    name = "calls"

    def __init__(self, n: int) -> None:
        self.n = n

    def run(self, question: str):  # type: ignore[no-untyped-def]
        for i in range(self.n):
            yield ponder.Generate.of([user(f"{question} {i}")], kind="step")
        return ponder.Outcome("done")


def measure(steps: int, repeats: int) -> dict[str, float]:
    model = ponder.ScriptedModel(lambda messages: "ok")
    budget = ponder.Budget(max_steps=steps + 1)
    tmp = Path(tempfile.mkdtemp(prefix="ponder-store-bench-"))
    seconds: dict[str, list[float]] = {"engine alone": [], "engine + run store": [], "engine + JSONL trace": []}
    for r in range(repeats):
        for name in seconds:
            sinks: list[ponder.events.EventSink] = []
            store = None
            if name == "engine + run store":
                store = ponder.RunStore(tmp / f"runs{r}.db")
                sinks.append(store.sink())
            elif name == "engine + JSONL trace":
                sinks.append(ponder.JsonlTrace(io.StringIO()))
            engine = ponder.Engine(model, budget=budget, sinks=sinks)
            t0 = time.perf_counter()
            engine.run(Calls(steps), "q")
            seconds[name].append(time.perf_counter() - t0)
            if store is not None:
                store.close()
    return {name: statistics.median(values) / steps * 1e6 for name, values in seconds.items()}


def measure_short(runs: int, repeats: int) -> dict[str, float]:
    """ms per short run (one ``single`` call) without a store and with one opened and closed per run."""
    model = ponder.ScriptedModel(lambda messages: "ok")
    path = Path(tempfile.mkdtemp(prefix="ponder-store-bench-")) / "runs.db"
    keeper = ponder.RunStore(path)
    seconds: dict[str, list[float]] = {"no store": [], "store per run": []}
    for _ in range(repeats):
        for name in seconds:
            t0 = time.perf_counter()
            for _ in range(runs):
                if name == "no store":
                    ponder.Engine(model).run(ponder.strategies.Single(), "q")
                else:
                    with ponder.RunStore(path) as store:
                        ponder.Engine(model, sinks=[store.sink()]).run(ponder.strategies.Single(), "q")
            seconds[name].append(time.perf_counter() - t0)
    keeper.close()
    return {name: statistics.median(values) / runs * 1e3 for name, values in seconds.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--baseline-src", action="append", default=[], help="a src/ folder with another ponder to compare against"
    )
    parser.add_argument("--short-runs", type=int, default=0, help="measure N short runs instead (see the docs)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # used for the baseline subprocess
    args = parser.parse_args(argv)
    if args.json:
        figures = measure_short(args.short_runs, 1) if args.short_runs else measure(args.steps, args.repeats)
        print(json.dumps(figures))
        return 0
    load = os.getloadavg()[0]
    runs: dict[str, list[dict[str, float]]] = {}
    command = [sys.executable, __file__, "--steps", str(args.steps), "--repeats", "1", "--json"]
    command += ["--short-runs", str(args.short_runs)]
    for _ in range(args.repeats):  # the two trees take turns, so a drift of the machine's speed hits both
        # every tree in a fresh process of its own, this one too, so none inherits another's heap
        for name, src in [("this checkout", str(Path(__file__).resolve().parents[1] / "src"))] + [
            (f"baseline ({src})", src) for src in args.baseline_src
        ]:
            env = {**os.environ, "PYTHONPATH": src}
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            runs.setdefault(name, []).append(json.loads(done.stdout.strip().splitlines()[-1]))
    rows = {
        name: {key: statistics.median(r[key] for r in values) for key in values[0]} for name, values in runs.items()
    }
    what = f"{args.short_runs} short runs" if args.short_runs else f"{args.steps} scripted model calls per run"
    print(f"{what}, {args.repeats} repeats; load average {load:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after; {os.cpu_count()} cores")  # fmt: skip
    print()
    if args.short_runs:
        print("| ponder | no store ms/run | store opened per run ms/run | the store's share ms/run |")
        print("| --- | ---: | ---: | ---: |")
        for name, row in rows.items():
            bare, stored = row["no store"], row["store per run"]
            print(f"| {name} | {bare:.2f} | {stored:.2f} | {stored - bare:.2f} |")
        return 0
    print(
        "| ponder | engine alone µs/step | + run store µs/step | store µs/event | + JSONL trace µs/step | trace µs/event |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, row in rows.items():
        alone, store, trace = row["engine alone"], row["engine + run store"], row["engine + JSONL trace"]
        print(
            f"| {name} | {alone:.1f} | {store:.1f} | {(store - alone) / 2:.1f} | {trace:.1f} | {(trace - alone) / 2:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
