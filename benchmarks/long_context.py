"""The long-context task suite (ponder.tasks.long_context) at 32k / 128k / 1M tokens: plan mode, code mode, single.

    python benchmarks/long_context.py --sizes 32k,128k,1m --per-size 3 [--model smollm2]

Tasks: RULER-style multi-key and multi-value needles, variable tracking, and
OOLONG-style counting, each scored exactly (``LongTask.score``: 1.0 only for
exactly the gold answer; set-valued tasks get Jaccard credit).

* ``plan``: ``recursive`` plan mode on ``--model`` (the embedded SmolLM2-135M
  by default), root and sub-calls on that model. Counting takes the count plan,
  one sub-call per record, so it runs only up to ``--count-max`` tokens (its
  calls are listed for the sizes skipped).
* ``code``: ``recursive`` code mode with a scripted root that writes the code a
  capable model would (regex filter, slices, ``llm_query_batched``, Python
  arithmetic, FINAL), its sub-calls on a scripted sub-model that reads its
  prompt exactly. This measures the machinery at scale (correctness, calls,
  wall time), not a model.
* ``single``: one call on ``--model`` with the head of the input that fits its
  window (the baseline plan mode has to beat).

Writes every row to benchmarks/long_context.json and the plot to
benchmarks/long_context.png (matplotlib, Agg).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ponder
from ponder.strategies import Recursive
from ponder.strategies.recursive_code import RecursiveCode
from ponder.tasks.long_context import KINDS, LongTask, generate

HERE = Path(__file__).resolve().parent


def parse_size(text: str) -> int:
    text = text.strip().lower()
    mult = {"k": 1000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * mult)


# -- code mode: the scripted root and sub ---------------------------------------------------------

_CODE = {
    "multi_key": (
        "import re\n"
        "hits = [m.start() for m in re.finditer('special magic number', context)]\n"
        "windows = [context[max(0, h - 100):h + 200] for h in hits]\n"
        "answers = llm_query_batched([QUESTION + '\\n' + w for w in windows])\n"
        "good = [a.strip() for a in answers if re.fullmatch(r'\\d{7}', a.strip())]\n"
        "FINAL(good[0] if good else 'unknown')"
    ),
    "multi_value": (
        "import re\n"
        "hits = [m.start() for m in re.finditer('special magic numbers', context)]\n"
        "windows = [context[max(0, h - 100):h + 200] for h in hits]\n"
        "answers = llm_query_batched([QUESTION + '\\n' + w for w in windows])\n"
        "good = sorted({a.strip() for a in answers if re.fullmatch(r'\\d{7}', a.strip())})\n"
        "FINAL(', '.join(good) or 'unknown')"
    ),
    "variable_tracking": (
        "import re\n"
        "size = 20000\n"
        "chunks = [context[i:i + size + 60] for i in range(0, len(context), size)]\n"
        "found = llm_query_batched(['List every VAR assignment, one per line:\\n' + c for c in chunks])\n"
        "edges = {}\n"
        "for text in found:\n"
        "    for name, value in re.findall(r'VAR ([A-Z]{5}) = (VAR [A-Z]{5}|\\d+)', text):\n"
        "        edges[name] = value\n"
        "start = re.search(r'value (\\d+)', QUESTION).group(1)\n"
        "names, frontier = set(), {start}\n"
        "while frontier:\n"
        "    new = {n for n, v in edges.items() if v in frontier or v.removeprefix('VAR ') in frontier} - names\n"
        "    names |= new\n"
        "    frontier = new\n"
        "FINAL(' '.join(sorted(names)))"
    ),
    "counting": (
        "lines = context.splitlines()\n"
        "size = 400\n"
        "chunks = ['\\n'.join(lines[i:i + size]) for i in range(0, len(lines), size)]\n"
        "label = QUESTION.split('labelled ')[1].rstrip('?')\n"
        "answers = llm_query_batched([f'How many records are labelled {label}?\\n' + c for c in chunks])\n"
        "FINAL(sum(int(a) for a in answers))"
    ),
}


def exact_sub(messages: Sequence[ponder.Message]) -> str:
    """A sub-model that reads its prompt exactly (the code-mode rows measure the machinery)."""
    text = messages[-1].content
    head, _, body = text.partition("\n")
    key = re.search(r"numbers? for (\w+)", head)
    if key is not None:
        found = re.search(rf"for {key.group(1)} is (\d{{7}})", body)
        return found.group(1) if found else "none"
    if head.startswith("List every VAR"):
        return "\n".join(re.findall(r"VAR [A-Z]{5} = (?:VAR [A-Z]{5}|\d+)", body))
    label = re.search(r"labelled (\w+)", head)
    if label is not None:
        return str(body.count(f"| label: {label.group(1)} |"))
    return "none"


def run_code(task: LongTask) -> dict[str, Any]:
    code = _CODE[task.kind].replace("QUESTION", repr(task.question))
    root = ponder.ScriptedModel(lambda messages: f"```python\n{code}\n```", name="scripted-root")
    sub = ponder.ScriptedModel(exact_sub, name="scripted-sub")
    engine = ponder.Engine(root, models={"sub": sub}, budget=ponder.Budget(max_steps=None), max_parallel_calls=16)
    t0 = time.perf_counter()
    result = engine.run(RecursiveCode(task.context), task.question)
    return _row(task, "code", result, time.perf_counter() - t0)


def run_plan(model: ponder.Model, task: LongTask) -> dict[str, Any]:
    budget = ponder.Budget(max_steps=None if task.kind == "counting" else 24)
    engine = ponder.Engine(model, budget=budget, options=ponder.GenerationOptions(max_tokens=48))
    t0 = time.perf_counter()
    result = engine.run(Recursive(context=task.context, mode="plan"), task.question)
    return _row(task, "plan", result, time.perf_counter() - t0)


def run_single(model: ponder.Model, task: LongTask) -> dict[str, Any]:
    room = int((model.context_window - 200) * 3.2)
    prompt = f"{task.context[:room]}\n\nQuestion: {task.question}\nAnswer:"
    engine = ponder.Engine(model, budget=ponder.Budget(max_steps=1), options=ponder.GenerationOptions(max_tokens=48))
    t0 = time.perf_counter()
    result = engine.run(ponder.strategies.Single(), prompt)
    return _row(task, "single", result, time.perf_counter() - t0)


def _row(task: LongTask, mode: str, result: ponder.RunResult, seconds: float) -> dict[str, Any]:
    return {
        "kind": task.kind,
        "tokens": task.tokens,
        "seed": task.seed,
        "mode": mode,
        "score": task.score(result.answer),
        "exact": task.exact(result.answer),
        "answer": (result.answer or "")[:200],
        "gold": list(task.answers),
        "calls": result.usage.model_calls,
        "seconds": round(seconds, 3),
        "stop_reason": result.stop_reason,
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--sizes", default="32k,128k,1m")
    ap.add_argument("--per-size", type=int, default=3, help="tasks of each kind at each size")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--modes", default="plan,code,single")
    ap.add_argument("--model", default="smollm2", help="the model of plan mode and the single pass")
    ap.add_argument("--count-max", default="32k", help="largest input of the count plan (one call per record)")
    ap.add_argument("--count-per-size", type=int, default=1, help="counting tasks per size in plan mode")
    ap.add_argument("--out", type=Path, default=HERE / "long_context.json")
    ap.add_argument("--plot", type=Path, default=HERE / "long_context.png")
    args = ap.parse_args(argv)
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if args.per_size < 1 or not sizes or not set(kinds) <= set(KINDS) or not set(modes) <= {"plan", "code", "single"}:
        ap.error("--per-size >= 1, --kinds from " + ", ".join(KINDS) + ", --modes from plan, code, single")
    count_max = parse_size(args.count_max)
    model = ponder.load_model(args.model) if {"plan", "single"} & set(modes) else None
    load_before = os.getloadavg()
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for tokens in sizes:
        for kind in kinds:
            for i in range(args.per_size):
                task = generate(kind, tokens, seed=i)
                for mode in modes:
                    if mode == "code":
                        rows.append(run_code(task))
                    elif model is None:
                        continue
                    elif mode == "plan" and kind == "counting" and (tokens > count_max or i >= args.count_per_size):
                        records = task.context.count("\n") + 1
                        skipped.append(f"plan/counting at {tokens:,} tokens (would be {records:,} sub-calls each)")
                        continue
                    elif mode == "plan":
                        rows.append(run_plan(model, task))
                    else:
                        rows.append(run_single(model, task))
                    print(json.dumps(rows[-1]), flush=True)
    load_after = os.getloadavg()
    args.out.write_text(json.dumps({"rows": rows, "skipped": sorted(set(skipped))}, indent=1))
    print(
        f"\nplan and single on {args.model}, {os.cpu_count()} cores, load average before {load_before[0]:.2f},"
        f" after {load_after[0]:.2f}"
    )
    print("\n| task | tokens | mode | n | mean score | exact | mean calls | median s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for kind in kinds:
        for tokens in sizes:
            for mode in modes:
                group = [r for r in rows if r["kind"] == kind and r["tokens"] == tokens and r["mode"] == mode]
                if not group:
                    continue
                print(
                    f"| {kind} | {tokens:,} | {mode} | {len(group)} | {statistics.mean(r['score'] for r in group):.2f} |"
                    f" {sum(r['exact'] for r in group)}/{len(group)} | {statistics.mean(r['calls'] for r in group):.1f} |"
                    f" {statistics.median(r['seconds'] for r in group):.2f} |"
                )
    for line in sorted(set(skipped)):
        print(f"skipped: {line}")
    plot(rows, sizes, kinds, modes, args.plot)
    return 0


def plot(rows: list[dict[str, Any]], sizes: list[int], kinds: list[str], modes: list[str], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(kinds), figsize=(3.2 * len(kinds), 3.2), dpi=120, sharey=True, squeeze=False)
    styles = {"plan": "o-", "code": "s--", "single": "^:"}
    for ax, kind in zip(axes[0], kinds, strict=True):
        for mode in modes:
            points = []
            for tokens in sizes:
                group = [r["score"] for r in rows if r["kind"] == kind and r["tokens"] == tokens and r["mode"] == mode]
                if group:
                    points.append((tokens, 100 * statistics.mean(group)))
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], styles[mode], label=mode)
        ax.set_xscale("log")
        ax.set_title(kind.replace("_", " "))
        ax.set_xlabel("input tokens")
        ax.set_ylim(-5, 105)
    axes[0][0].set_ylabel("mean score (%)")
    axes[0][-1].legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(out)


if __name__ == "__main__":
    raise SystemExit(main())
