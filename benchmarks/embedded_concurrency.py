"""Several processes on the embedded model at once: take turns, split the cores, or neither.

Starts 1, 2 and 4 concurrent ``ponder ask QUESTION --strategy refine --max-steps 6 --no-store --json``
processes (``sys.executable -m ponder``, the embedded SmolLM2-135M) under each sharing mode of the
llama.cpp backend, selected with ``PONDER_LLAMA_SHARING`` (see ``ponder.models.cpu_lock``):

- ``off``: every process runs as many llama.cpp threads as there are cores (the behaviour before);
- ``lock``: a cross-process ``flock`` held around each model call, so calls take turns;
- ``split``: each call runs ``cores // concurrent callers`` threads.

and prints each configuration's total wall time (start of the first process to the end of the
last) and the per-process wall times (process start to exit: import, model load and the run),
with the load average before and after it. The modes alternate within each process count (their
order rotates between repeats), so they see the same machine. Every configuration gets its own
``XDG_CACHE_HOME`` (a temporary folder), so other ponder processes on the machine do not take part
in its lock. At temperature 0 every process does the same work; the table shows the model calls
and completion tokens of each so that is visible.

    .venv/bin/python benchmarks/embedded_concurrency.py        # counts 1,2,4, modes off,lock,split (~20 min idle)
    .venv/bin/python benchmarks/embedded_concurrency.py --counts 1,2 --modes lock,split --max-steps 2   # quick look

A configuration that has not finished after ``--timeout`` seconds is killed and shown as such.
Uses only the CLI (the public entry point), one process per run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass

QUESTION = "What were the primary causes of the fall of the Western Roman Empire?"
MODES = ("off", "lock", "split")
TARGET = 2.2  # two concurrent runs take at most this many times one run


@dataclass(frozen=True, slots=True)
class Config:
    processes: int
    mode: str


@dataclass(frozen=True, slots=True)
class Outcome:
    total: float
    per_process: tuple[float, ...]  # sorted, finished processes only
    calls: tuple[int, ...]
    completion_tokens: tuple[int, ...]
    failed: int  # non-zero exits or unreadable output
    timed_out: int
    load_before: float
    load_after: float
    others: float  # cores' worth of CPU used by processes other than these runs, on average
    steal: float  # cores' worth of CPU taken by the hypervisor (other virtual machines)


def load() -> float:
    return os.getloadavg()[0]


def cpu_seconds() -> tuple[float, float, float]:
    """(busy seconds of all cores, steal seconds, CPU seconds of this process and its waited children)."""
    busy = steal = 0.0
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:9]]
        tick = os.sysconf("SC_CLK_TCK")
        user, nice, system, _idle, _iowait, irq, softirq, stolen = fields
        busy, steal = (user + nice + system + irq + softirq) / tick, stolen / tick
    except (OSError, ValueError):  # not Linux: the columns read 0
        pass
    mine = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        mine += usage.ru_utime + usage.ru_stime
    return busy, steal, mine


def command(question: str, steps: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ponder",
        "ask",
        question,
        "--strategy",
        "refine",
        "--max-steps",
        str(steps),
        "--no-store",
        "--json",
    ]


def run_config(config: Config, question: str, steps: int, timeout: float) -> Outcome:
    """Start ``config.processes`` runs at once and wait for them (or the timeout)."""
    before = load()
    busy0, steal0, mine0 = cpu_seconds()
    with tempfile.TemporaryDirectory(prefix="ponder-cache-") as cache:
        env = {**os.environ, "PONDER_LLAMA_SHARING": config.mode, "XDG_CACHE_HOME": cache}
        files = [open(os.path.join(cache, f"out-{i}.json"), "w+") for i in range(config.processes)]  # noqa: SIM115
        t0 = time.perf_counter()
        procs = [
            subprocess.Popen(command(question, steps), env=env, stdout=out, stderr=subprocess.DEVNULL) for out in files
        ]
        ends: dict[int, float] = {}
        while len(ends) < len(procs) and time.perf_counter() - t0 < timeout:
            for i, proc in enumerate(procs):
                if i not in ends and proc.poll() is not None:
                    ends[i] = time.perf_counter() - t0
            time.sleep(0.05)
        timed_out = 0
        for i, proc in enumerate(procs):
            if i not in ends:
                proc.kill()
                timed_out += 1
        outputs = []
        for proc, out in zip(procs, files, strict=True):
            proc.wait()
            out.seek(0)
            outputs.append(out.read())
            out.close()
        total = max(ends.values()) if len(ends) == len(procs) else timeout
    busy1, steal1, mine1 = cpu_seconds()
    others = max(0.0, (busy1 - busy0) - (mine1 - mine0)) / total
    steal = (steal1 - steal0) / total
    calls: list[int] = []
    tokens: list[int] = []
    failed = 0
    for i, (proc, out) in enumerate(zip(procs, outputs, strict=True)):
        if i not in ends:
            continue
        try:
            usage = json.loads(out)["usage"]
            calls.append(int(usage["model_calls"]))
            tokens.append(int(usage["completion_tokens"]))
        except (ValueError, KeyError, TypeError):
            failed += 1
        else:
            failed += proc.returncode != 0
    return Outcome(
        total,
        tuple(sorted(ends.values())),
        tuple(calls),
        tuple(tokens),
        failed,
        timed_out,
        before,
        load(),
        others,
        steal,
    )


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,2,4", help="concurrent process counts, comma-separated")
    parser.add_argument("--modes", default=",".join(MODES), help="sharing modes to compare: off, lock, split")
    parser.add_argument("--repeats", type=int, default=1, help="rounds (medians are reported)")
    parser.add_argument("--max-steps", type=int, default=6)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds before a configuration is killed")
    parser.add_argument("--question", default=QUESTION)
    args = parser.parse_args(argv)
    try:
        args.counts = [int(c) for c in args.counts.split(",") if c.strip()]
    except ValueError:
        parser.error("--counts takes whole numbers, e.g. 1,2,4")
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not args.counts or min(args.counts) < 1 or args.repeats < 1 or args.max_steps < 1:
        parser.error("--counts, --repeats and --max-steps must be >= 1")
    if not args.modes or any(m not in MODES for m in args.modes):
        parser.error(f"--modes takes {', '.join(MODES)}")
    return args


def seconds(values: Sequence[float]) -> str:
    return " / ".join(f"{v:.1f}" for v in values) or "–"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    configs = [Config(n, m) for n in args.counts for m in args.modes]
    results: dict[Config, list[Outcome]] = {c: [] for c in configs}
    first_load = load()
    print(f"{os.cpu_count()} cores, load average {first_load:.2f} at start; {args.repeats} repeats")
    print(f"command: {' '.join(command(args.question, args.max_steps)[1:])}")
    for r in range(args.repeats):
        for n in args.counts:
            shift = r % len(args.modes)
            for mode in args.modes[shift:] + args.modes[:shift]:
                config = Config(n, mode)
                outcome = run_config(config, args.question, args.max_steps, args.timeout)
                results[config].append(outcome)
                print(
                    f"  round {r + 1}: {n} x {mode}: total {outcome.total:.1f} s, per process "
                    f"{seconds(outcome.per_process)} (load {outcome.load_before:.2f} -> {outcome.load_after:.2f}, "
                    f"other processes {outcome.others:.2f} cores, steal {outcome.steal:.2f})",
                    flush=True,
                )
    print()
    print(
        "| processes | sharing | total wall s | per-process wall s | total / 1 process (same sharing) | "
        "model calls | completion tokens | load before → after | other processes / steal, cores |"
    )
    print("| ---: | --- | ---: | --- | ---: | --- | --- | --- | --- |")
    medians: dict[Config, float] = {}
    cut: set[Config] = set()  # a configuration killed at the timeout: its time is only a lower bound
    for config in configs:
        outcomes = results[config]
        medians[config] = statistics.median(o.total for o in outcomes)
        if any(o.timed_out for o in outcomes):
            cut.add(config)
        last = outcomes[-1]
        alone = medians.get(Config(1, config.mode))
        ratio = f"{'> ' if config in cut else ''}{medians[config] / alone:.2f}×" if alone else "–"
        total = f"> {args.timeout:.0f}" if config in cut else f"{medians[config]:.1f}"
        notes = []
        if sum(o.timed_out for o in outcomes):
            notes.append(f"{sum(o.timed_out for o in outcomes)} killed at the timeout")
        if sum(o.failed for o in outcomes):
            notes.append(f"{sum(o.failed for o in outcomes)} failed")
        per = seconds(last.per_process) + (f" ({'; '.join(notes)})" if notes else "")
        loads = " ; ".join(f"{o.load_before:.2f} → {o.load_after:.2f}" for o in outcomes)
        others = " ; ".join(f"{o.others:.2f} / {o.steal:.2f}" for o in outcomes)
        print(
            f"| {config.processes} | {config.mode} | {total} | {per} | {ratio} | "
            f"{'/'.join(map(str, sorted(set(last.calls)))) or '–'} | "
            f"{'/'.join(map(str, sorted(set(last.completion_tokens)))) or '–'} | {loads} | {others} |"
        )
    print()
    if args.repeats > 1:
        print("(total wall: median over the repeats; per-process times and counts: the last repeat)")
    for mode in args.modes:
        one, two = medians.get(Config(1, mode)), medians.get(Config(2, mode))
        if one and two:
            verdict = "met" if two <= TARGET * one and Config(2, mode) not in cut else "NOT met"
            more = "> " if Config(2, mode) in cut else ""
            print(f"target: two concurrent runs <= {TARGET}x one run: {mode}: {verdict} ({more}{two / one:.2f}x)")
    for n in args.counts:
        done = [c for c in configs if c.processes == n and c.mode != "off"]
        base = medians.get(Config(n, "off"))
        if base and done and n > 1:
            more = "> " if Config(n, "off") in cut else ""
            parts = ", ".join(f"{c.mode} {more}{base / medians[c]:.2f}x" for c in done)
            print(f"speed-up over off, {n} processes (total wall): {parts}")
    print(f"load average {first_load:.2f} at start, {load():.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
