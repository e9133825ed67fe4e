"""Wall time of consistency with N samples, concurrent vs sequential, against a slow OpenAI-compatible endpoint.

The endpoint is the test suite's fake chat server (``tests/support/servers.py``) on
127.0.0.1, answering every request after a fixed delay (a stand-in for a remote
API). The same ``Consistency(samples=N, adaptive=False)`` runs through
``ponder.Engine`` with ``max_parallel_calls=N`` (the wave is one concurrent batch)
and with ``max_parallel_calls=1`` (one request at a time); the configurations
alternate within each repeat and the table reports medians. The server's
highest number of requests in flight is reported too, so the overlap is
measured, not assumed.

    .venv/bin/python benchmarks/concurrency.py                 # N=8, 200 ms, 5 repeats
    .venv/bin/python benchmarks/concurrency.py --repeats 1 --delay 0.05   # quick check
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

import ponder
from ponder.strategies import Consistency
from servers import FakeChatServer

TARGET = 4.0


def one_run(model: ponder.Model, samples: int, concurrency: int, adaptive: bool) -> tuple[float, int]:
    engine = ponder.Engine(model, budget=ponder.Budget(max_steps=None), max_parallel_calls=concurrency)
    strategy = Consistency(samples=samples, adaptive=adaptive)
    t0 = time.perf_counter()
    result = engine.run(strategy, "How many legs do 3 spiders and 2 ants have?")
    seconds = time.perf_counter() - t0
    if result.answer is None:
        raise RuntimeError(f"no answer: {result.stop_reason} {result.detail}")
    return seconds, result.usage.model_calls


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--delay", type=float, default=0.2, help="seconds the server waits before each answer")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if args.samples < 1 or args.repeats < 1 or args.delay < 0:
        parser.error("--samples and --repeats must be >= 1, --delay >= 0")
    load_before = os.getloadavg()[0]
    configs = [
        (f"sequential (max_parallel_calls=1), N={args.samples}", 1, False),
        (f"concurrent (max_parallel_calls={args.samples}), N={args.samples}", args.samples, False),
        (f"concurrent, adaptive, N={args.samples}", args.samples, True),
    ]
    seconds: dict[str, list[float]] = {name: [] for name, _, _ in configs}
    calls: dict[str, int] = {}
    peak: dict[str, int] = {}
    with FakeChatServer(delay=args.delay, reply=lambda body: "3 spiders have 24 legs, 2 ants 12: 36") as server:
        model = ponder.load_model("openai:fake", base_url=server.url)
        one_run(model, 2, 2, False)  # warm up the HTTP client
        for _ in range(args.repeats):
            for name, concurrency, adaptive in configs:
                server.max_in_flight = 0
                took, n = one_run(model, args.samples, concurrency, adaptive)
                seconds[name].append(took)
                calls[name] = n
                peak[name] = max(peak.get(name, 0), server.max_in_flight)
    base = statistics.median(seconds[configs[0][0]])
    print(
        f"consistency N={args.samples} against a loopback OpenAI-compatible server answering after "
        f"{args.delay * 1000:.0f} ms; {args.repeats} repeats; load average before/after "
        f"{load_before:.2f}/{os.getloadavg()[0]:.2f}; python {sys.version.split()[0]}"
    )
    print()
    print("| configuration | model calls | most requests in flight | wall s (median) | wall s (min) | speed-up |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, _, _ in configs:
        med = statistics.median(seconds[name])
        print(f"| {name} | {calls[name]} | {peak[name]} | {med:.3f} | {min(seconds[name]):.3f} | {base / med:.2f}× |")
    ratio = base / statistics.median(seconds[configs[1][0]])
    print()
    print(f"target: concurrent >= {TARGET:.0f}× faster than sequential: {'met' if ratio >= TARGET else 'NOT met'} "
          f"({ratio:.2f}×)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
