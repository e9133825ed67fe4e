"""Sandbox latency: cold start of a worker, and warm calls, under bubblewrap and in the fallback.

Cold start = ``Sandbox(...).start()`` until the worker has said it is ready (median over
``--starts``; the two modes alternate). Warm calls = ``sb.run("pass")`` and
``sb.run("x += 1")`` on a started worker, ``--calls`` each, alternating between the
bubblewrap sandbox and the fallback one so machine noise hits both alike; the table
reports p50 and p99 in milliseconds. Target: warm p50 < 5 ms.

    .venv/bin/python benchmarks/sandbox_latency.py                      # 1,000 calls, 5 starts
    .venv/bin/python benchmarks/sandbox_latency.py --calls 20 --starts 1  # quick check

Uses only the public API (``ponder.sandbox``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Sequence

from ponder.errors import SandboxUnavailableError
from ponder.sandbox import IsolationWarning, Sandbox, SandboxConfig

TARGET_MS = 5.0
MODES = {
    "bwrap": SandboxConfig(require_isolation=True),
    # measured as root too: the benchmark runs only its own snippets (the fallback refuses model code as root)
    "fallback (no isolation)": SandboxConfig(bwrap_path="/nonexistent/bwrap", allow_unisolated_root=True),
}
SNIPPETS = ("pass", "x += 1")


def _start(config: SandboxConfig) -> tuple[Sandbox, float]:
    began = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IsolationWarning)
        sandbox = Sandbox(config).start()
    return sandbox, (time.perf_counter() - began) * 1000


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="warm calls per snippet and mode")
    parser.add_argument("--starts", type=int, default=5, help="cold starts per mode")
    args = parser.parse_args(argv)
    if args.calls < 1 or args.starts < 1:
        parser.error("--calls and --starts must be at least 1")

    modes = dict(MODES)
    starts: dict[str, list[float]] = {mode: [] for mode in modes}
    for _ in range(args.starts):
        for mode, config in list(modes.items()):
            try:
                sandbox, ms = _start(config)
            except SandboxUnavailableError as exc:
                print(f"skipping {mode}: {exc}")
                del modes[mode]
                continue
            starts[mode].append(ms)
            sandbox.close()

    boxes = {mode: _start(config)[0] for mode, config in modes.items()}
    calls: dict[tuple[str, str], list[float]] = {(m, s): [] for m in boxes for s in SNIPPETS}
    try:
        for box in boxes.values():
            box.run("x = 0")
        for _ in range(args.calls):
            for snippet in SNIPPETS:
                for mode, box in boxes.items():
                    began = time.perf_counter()
                    result = box.run(snippet)
                    calls[mode, snippet].append((time.perf_counter() - began) * 1000)
                    if not result.ok:
                        raise SystemExit(f"{mode}: {snippet!r} failed: {result.error}")
    finally:
        for box in boxes.values():
            box.close()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"sandbox latency: {args.calls} warm calls per snippet, {args.starts} cold starts per mode")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {load:.2f}, euid {os.geteuid()}")
    print()
    print(
        "| mode | cold start median (ms) | `pass` p50 (ms) | `pass` p99 (ms) | `x += 1` p50 (ms) | `x += 1` p99 (ms) |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for mode in boxes:
        cells = [f"{statistics.median(starts[mode]):.1f}"]
        for snippet in SNIPPETS:
            values = calls[mode, snippet]
            cells += [f"{_percentile(values, 0.5):.3f}", f"{_percentile(values, 0.99):.3f}"]
        print(f"| {mode} | " + " | ".join(cells) + " |")
    print()
    if "bwrap" in boxes:
        p50 = _percentile(calls["bwrap", "pass"], 0.5)
        print(f"target: warm p50 under bubblewrap < {TARGET_MS:g} ms: {'met' if p50 < TARGET_MS else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
