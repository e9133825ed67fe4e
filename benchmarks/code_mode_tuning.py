"""Code mode on a small code model: accuracy, turns and wall time on the long-context tasks, seed by seed.

    python benchmarks/code_mode_tuning.py --model gguf:/work/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf \\
        --kinds multi_key,variable_tracking --sizes 16k,64k --seeds 0-4 --out /tmp/tune.jsonl

The tasks are ``ponder.tasks.long_context`` (multi-key, multi-value, variable
tracking, counting: generated from a seed, scored exactly), plus two of another
shape and wording made here, to check that what was tuned is not one generator's
wording: ``essay_key`` (an access code hidden among distractor codes in real
essays, /work/shared/data/haystack) and ``essay_values`` (all the ticket numbers
of one person among another's). Tune on one set of seeds, report on another:
the seeds are an argument and each row records its seed.

Each task is one ``ponder.open_run`` of ``recursive`` in code mode (root and
``sub`` on ``--model``, the model loaded once), as ``ponder ask --mode code``
runs it: the sub-model's reading size comes from its window. Every row (task,
score, answer, stop reason, turns, sub-calls, seconds, load average before and
after) is appended to ``--out`` as one JSON line as soon as it ends, and a table
is printed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ponder
from ponder.builder import open_run
from ponder.run_models import ModelCache
from ponder.tasks.long_context import KINDS, LongTask, generate

HERE = Path(__file__).resolve().parent
HAYSTACK = HERE.parent.parent / "shared" / "data" / "haystack"
VARIANTS = ("essay_key", "essay_values")
COMMIT = subprocess.run(
    ["git", "-C", str(HERE), "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
).stdout.strip()


def parse_size(text: str) -> int:
    text = text.strip().lower()
    mult = {"k": 1000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * mult)


def parse_seeds(text: str) -> list[int]:
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        seeds += list(range(int(low), int(high or low) + 1))
    return seeds


# -- tasks of another shape and wording --------------------------------------------------------


def _essays(chars: int, rng: random.Random) -> list[str]:
    files = sorted(HAYSTACK.glob("*.txt"))
    if not files:
        raise SystemExit(f"no essays in {HAYSTACK}")
    sentences: list[str] = []
    texts = [f.read_text(encoding="utf-8", errors="replace") for f in files]
    size = 0
    while size < chars:
        text = rng.choice(texts)
        for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
            sentences.append(s)
            size += len(s) + 1
            if size >= chars:
                break
    return sentences


def _place(rng: random.Random, filler: list[str], needles: list[str]) -> str:
    for needle in needles:
        filler.insert(rng.randrange(len(filler) + 1), needle)
    return " ".join(filler)


def variant(kind: str, tokens: int, seed: int) -> LongTask:
    """A task of another wording: an access code (``essay_key``) or every ticket of a person (``essay_values``)."""
    rng = random.Random(f"{kind}:{tokens}:{seed}")
    names = rng.sample(["Mirela", "Oskar", "Tamsin", "Idris", "Vesna", "Caspian", "Rukmini", "Bertil", "Ondine"], 4)
    codes = [str(rng.randint(100_000_000, 999_999_999)) for _ in range(8)]
    filler = _essays(tokens * 4, rng)
    if kind == "essay_key":
        needles = [f"Remember that the locker of {n} opens with code {c}." for n, c in zip(names, codes, strict=False)]
        who = rng.randrange(4)
        context = _place(rng, filler, needles)
        question = f"Which code opens the locker of {names[who]}?"
        return LongTask("multi_key", context, question, (codes[who],), seed, tokens)
    needles = [f"{names[0]} kept raffle ticket {c} in a drawer." for c in codes[:3]]
    needles += [f"{names[1]} kept raffle ticket {c} in a drawer." for c in codes[3:5]]
    context = _place(rng, filler, needles)
    question = f"List every raffle ticket that {names[0]} kept."
    return LongTask("multi_value", context, question, tuple(codes[:3]), seed, tokens)


def _score(task: LongTask, answer: str | None) -> float:
    if task.kind in ("multi_key", "multi_value") and task.answers[0] and len(task.answers[0]) == 9:
        got = set(re.findall(r"\b\d{9}\b", answer or ""))
        gold = set(task.answers)
        return len(got & gold) / len(got | gold) if got else 0.0
    return task.score(answer)


# -- one run -------------------------------------------------------------------------------------


def run_one(
    cache: ModelCache, model: str, task: LongTask, name: str, options: dict[str, Any], traces: Path | None = None
) -> dict[str, Any]:
    trace = {"trace": str(traces / f"{name}-{task.tokens}-{task.seed}.jsonl")} if traces is not None else {}
    spec = ponder.RunSpec.from_dict(
        {
            **trace,
            "strategy": {"strategy": "recursive", "mode": "code", **options},
            "models": {"root": model, "sub": model},
            "context_text": task.context,
            "record": False,
            "budget": {"max_steps": 400, "max_seconds": 900},
        }
    )
    load = os.getloadavg()[0]
    start = time.perf_counter()
    with open_run(spec, models=cache) as opened:
        result = opened.run(task.question)
    seconds = time.perf_counter() - start
    score = _score(task, result.answer)
    code = [s for s in result.steps if s.kind == "code"]
    return {
        "task": name,
        "tokens": task.tokens,
        "seed": task.seed,
        "score": score,
        "exact": score == 1.0,
        "answer": (result.answer or "")[:200],
        "gold": list(task.answers),
        "stop": result.stop_reason,
        "detail": (result.detail or "")[:200],
        "turns": len(code),
        "sub_calls": sum(1 for s in result.steps if s.kind == "sub_query"),
        "loops": sum(1 for s in result.steps if s.kind == "loop"),
        "final_call": any(s.kind == "final_answer" for s in result.steps),
        "seconds": round(seconds, 1),
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "codes": [str(s.data.get("code", ""))[:400] for s in result.steps if s.kind == "repl"][:12],
        "commit": COMMIT,
    }


def table(rows: Sequence[dict[str, Any]]) -> str:
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["task"], row["tokens"], row.get("commit", "?")), []).append(row)
    lines = [
        "| task | tokens | commit | seeds | mean score | exact | turns (median) | loop stops | median s | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (name, tokens, commit), group in sorted(groups.items()):
        seeds = ",".join(str(r["seed"]) for r in group)
        loads = [r["load_before"] for r in group]
        lines.append(
            f"| {name} | {tokens} | {commit} | {seeds} | {statistics.mean(r['score'] for r in group):.2f} | "
            f"{sum(r['exact'] for r in group)}/{len(group)} | {statistics.median(r['turns'] for r in group):g} | "
            f"{sum(r['stop'] == 'loop' for r in group)} | {statistics.median(r['seconds'] for r in group):.0f} | "
            f"{min(loads):.1f}-{max(loads):.1f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="coder")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"of {', '.join(KINDS + VARIANTS)}")
    parser.add_argument("--sizes", default="16k,64k")
    parser.add_argument("--seeds", default="0-4", help="e.g. 0-4 (tuning) or 100-109 (report)")
    parser.add_argument("--max-iterations", type=int, default=12)
    parser.add_argument("--no-code-grammar", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("code_mode_tuning.jsonl"))
    parser.add_argument("--traces", type=Path, default=None, help="a folder for one JSONL trace per task")
    parser.add_argument("--table", type=Path, nargs="*", help="print the table of these --out files and stop")
    args = parser.parse_args(argv)
    if args.table:
        read = [json.loads(line) for path in args.table for line in path.read_text().splitlines() if line.strip()]
        print(table(read))
        return 0
    options: dict[str, Any] = {"max_iterations": args.max_iterations}
    if args.no_code_grammar:
        options["code_grammar"] = False
    if args.traces is not None:
        args.traces.mkdir(parents=True, exist_ok=True)
    cache = ModelCache()
    rows = []
    for size in [parse_size(s) for s in args.sizes.split(",")]:
        for kind in args.kinds.split(","):
            for seed in parse_seeds(args.seeds):
                task = variant(kind, size, seed) if kind in VARIANTS else generate(kind, size, seed)
                row = run_one(cache, args.model, task, kind, options, args.traces)
                rows.append(row)
                with args.out.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(row) + "\n")
                print(
                    f"{kind} {size} seed {seed}: score {row['score']:.2f} stop {row['stop']} turns {row['turns']}"
                    f" {row['seconds']}s load {row['load_before']} answer {row['answer'][:60]!r}",
                    flush=True,
                )
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
