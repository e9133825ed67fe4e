"""How much KV prefix reuse saves in a multi-pass refine on the embedded model.

Runs ``ponder.Refine`` under ``Budget(max_steps=6)`` on the embedded SmolLM2-135M,
once with prefix reuse (``load_model("smollm2")``) and once without
(``load_model("smollm2", prefix_cache=False)``), alternating the two over
``--repeats`` rounds in one process, and prints prompt tokens sent vs evaluated,
model calls and wall time (medians), the speed-up, and the per-call rows of the
first run of each configuration.

Refine stops early when a critique says "NO ISSUES" or a revision stops
changing; to make every run do exactly 6 model calls (draft, then critique +
revision pairs) this benchmark sets ``same_ratio`` above 1.0 (no revision counts
as unchanged or as a loop) and a ``no_issues`` marker the model never writes.
The prompts sent are the shipped ones, unchanged.

Every run starts from a freshly loaded model (load time not counted), so the
first call of each run evaluates its whole prompt in both configurations.

    .venv/bin/python benchmarks/prefix_reuse.py                  # 3 repeats, ~1 minute on 2 idle cores
    .venv/bin/python benchmarks/prefix_reuse.py --repeats 1 --max-tokens 64   # quick look

Uses only the public API (``import ponder``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import ponder

QUESTION = "What were the primary causes of the fall of the Western Roman Empire?"
NEVER = "\x00never-converge\x00"  # a no-issues marker no critique starts with
REUSE = "reuse on"
NO_REUSE = "reuse off"


@dataclass(frozen=True, slots=True)
class Sample:
    sent: int
    evaluated: int
    completion: int
    calls: int
    seconds: float
    load_seconds: float
    stop_reason: str
    answer: str
    texts: tuple[str, ...]
    calls_detail: tuple[tuple[str, int, int, int, float], ...]  # kind, sent, evaluated, generated, seconds


def run_once(prefix_cache: bool, steps: int, max_tokens: int, threads: int | None = None) -> Sample:
    t0 = time.perf_counter()
    extra = {} if threads is None else {"threads": threads}
    model = ponder.load_model("smollm2", prefix_cache=prefix_cache, **extra)
    load_seconds = time.perf_counter() - t0
    engine = ponder.Engine(
        model,
        budget=ponder.Budget(max_steps=steps),
        options=ponder.GenerationOptions(temperature=0.0, max_tokens=max_tokens, seed=0),
    )
    strategy = ponder.Refine(same_ratio=1.01, no_issues=NEVER)
    t0 = time.perf_counter()
    result = engine.run(strategy, QUESTION)
    seconds = time.perf_counter() - t0
    detail = tuple(
        (s.kind, s.usage.prompt_tokens, s.usage.prompt_tokens_evaluated, s.usage.completion_tokens, s.seconds)
        for s in result.steps
        if s.usage is not None
    )
    u = result.usage
    return Sample(
        u.prompt_tokens,
        u.prompt_tokens_evaluated,
        u.completion_tokens,
        u.model_calls,
        seconds,
        load_seconds,
        result.stop_reason,
        result.answer or "",
        tuple(s.text for s in result.steps if s.usage is not None),
        detail,
    )


def summary_table(samples: dict[str, list[Sample]]) -> str:
    lines = [
        "| configuration | model calls | prompt tokens sent | prompt tokens evaluated | evaluated / sent "
        "| completion tokens | wall s (median) | wall s (min) | stop reason |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, runs in samples.items():
        sent = statistics.median(r.sent for r in runs)
        evaluated = statistics.median(r.evaluated for r in runs)
        lines.append(
            f"| {name} | {statistics.median(r.calls for r in runs):g} | {sent:g} | {evaluated:g} "
            f"| {evaluated / sent:.2f} | {statistics.median(r.completion for r in runs):g} "
            f"| {statistics.median(r.seconds for r in runs):.2f} | {min(r.seconds for r in runs):.2f} "
            f"| {', '.join(sorted({r.stop_reason for r in runs}))} |"
        )
    return "\n".join(lines)


def calls_table(sample: Sample) -> str:
    lines = [
        "| # | kind | sent | evaluated | generated | seconds |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for i, (kind, sent, evaluated, generated, seconds) in enumerate(sample.calls_detail, 1):
        lines.append(f"| {i} | {kind} | {sent} | {evaluated} | {generated} | {seconds:.2f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each configuration, alternated (default 3)")
    parser.add_argument("--steps", type=int, default=6, help="budget max_steps = model calls per run (default 6)")
    parser.add_argument(
        "--max-tokens", type=int, default=384, help="most tokens per model call (default 384, as the CLI)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="llama.cpp threads (default: the backend's, all cores)"
    )
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.steps < 1 or args.max_tokens < 1:
        parser.error("--repeats, --steps and --max-tokens must be >= 1")

    load_before = os.getloadavg()[0]
    samples: dict[str, list[Sample]] = {REUSE: [], NO_REUSE: []}
    for i in range(args.repeats):
        for name in (REUSE, NO_REUSE) if i % 2 == 0 else (NO_REUSE, REUSE):
            sample = run_once(name == REUSE, args.steps, args.max_tokens, args.threads)
            samples[name].append(sample)
            print(f"  repeat {i + 1}/{args.repeats} {name}: {sample.calls} calls, {sample.seconds:.1f} s", flush=True)

    print()
    print(
        f"prefix reuse: refine, Budget(max_steps={args.steps}), same_ratio=1.01 and no no-issues marker "
        f"(never converges early: {args.steps} model calls), smollm2, max_tokens={args.max_tokens}, "
        f"temperature 0, threads {args.threads or 'default'}, {args.repeats} repeats alternated, medians; "
        f"load average before/after {load_before:.2f}/{os.getloadavg()[0]:.2f} (other processes slow llama.cpp a lot)"
    )
    print()
    print(summary_table(samples))
    on = statistics.median(r.seconds for r in samples[REUSE])
    off = statistics.median(r.seconds for r in samples[NO_REUSE])
    ratio = statistics.median(r.evaluated / r.sent for r in samples[REUSE])
    same = all(a.answer == b.answer for a, b in zip(samples[REUSE], samples[NO_REUSE], strict=True))
    first_on, first_off = samples[REUSE][0].texts, samples[NO_REUSE][0].texts
    differ = next((i for i, (a, b) in enumerate(zip(first_on, first_off, strict=False), 1) if a != b), None)
    load = statistics.median(r.load_seconds for runs in samples.values() for r in runs)
    print()
    print(f"speed-up (wall, reuse off / reuse on, medians): {off / on:.2f}x")
    print(f"target: evaluated <= half of sent: {'met' if ratio <= 0.5 else 'NOT met'} ({ratio:.2f})")
    print(f"same final answer in both configurations: {'yes' if same else 'no'}; model load {load:.2f} s (not counted)")
    if differ is not None:
        print(f"first run: outputs are identical up to call {differ - 1}; call {differ} differs (float rounding of")
        print("  suffix-only vs full-prompt evaluation changes a greedy choice); token counts below show the effect")
    for name in (REUSE, NO_REUSE):
        print()
        print(f"per call, first run, {name}:")
        print()
        print(calls_table(samples[name][0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
