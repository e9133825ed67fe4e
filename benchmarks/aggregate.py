"""Aggregation over long inputs (OOLONG-style counting): single pass vs recursive count plan.

    python benchmarks/aggregate.py --sizes 32k,64k,128k --trials 3 [--model smollm2]

Each trial writes N labelled records, one per line,

    record 00412 | 2024-03-07 | label: urgent | <a short sentence from an essay>

with labels drawn from five labels at random frequencies (new ones each trial)
and sentences drawn from ../shared/data/haystack/*.txt, N chosen so the file
has about the given number of tokens (measured with the model's tokenizer on a
sample). The question is "How many records are labelled <label>?" and the gold
answer is the exact count. ``single`` sends the records truncated to the
model's window (their head) in one prompt; ``recursive`` runs plan mode, which
takes the count plan (a yes/no call per record, summed in Python). Scores:
exact match, mean absolute relative error (|predicted - gold| / gold, a reply
without a number counts as 0) and, for recursive, the per-record yes/no
accuracy. Writes the raw numbers to benchmarks/aggregate.json.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ponder
from ponder.steps import MAP
from ponder.strategies import Recursive
from ponder.strategies.recursive_count import parse_yes_no

HERE = Path(__file__).resolve().parent
HAYSTACK = HERE.parent.parent / "shared" / "data" / "haystack"
LABELS = ("urgent", "billing", "shipping", "feedback", "spam")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_NUMBER = re.compile(r"-?\d+")


def parse_size(text: str) -> int:
    text = text.strip().lower()
    mult = {"k": 1024, "m": 1024 * 1024}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * mult)


def essay_sentences(folder: Path = HAYSTACK) -> list[str]:
    """Short plain sentences (6–18 words) from the essays, in a fixed order."""
    files = sorted(p for p in folder.glob("*.txt") if p.name != "LICENSE")
    out: dict[str, None] = {}
    for path in files:
        text = " ".join(path.read_text(encoding="utf-8", errors="ignore").split())
        for s in _SENTENCE.split(text):
            if 6 <= len(s.split()) <= 18 and s.isascii() and "|" not in s and s[0].isupper():
                out.setdefault(s)
    if not out:
        raise SystemExit(f"no sentences found under {folder}")
    return list(out)


@dataclass(frozen=True)
class Task:
    lines: list[str]
    labels: list[str]
    label: str
    gold: int

    @property
    def question(self) -> str:
        return f"How many records are labelled {self.label}?"


def make_task(rng: random.Random, n: int, sentences: Sequence[str]) -> Task:
    """``n`` records with labels at random frequencies; the asked label occurs at least once."""
    weights = [rng.random() + 0.05 for _ in LABELS]
    labels = rng.choices(LABELS, weights=weights, k=n)
    lines = []
    for i, label in enumerate(labels):
        date = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        lines.append(f"record {i:05d} | {date} | label: {label} | {rng.choice(sentences)}")
    label = rng.choice(sorted(set(labels)))
    return Task(lines, labels, label, labels.count(label))


def tokens_per_record(model: ponder.Model, sentences: Sequence[str], seed: int) -> float:
    sample = make_task(random.Random(seed), 200, sentences).lines
    return model.count_tokens("\n".join(sample)) / len(sample)


def first_number(answer: str | None) -> int | None:
    m = _NUMBER.search(answer or "")
    return int(m.group(0)) if m else None


def run_recursive(model: ponder.Model, path: Path, task: Task) -> dict[str, float | int | None]:
    engine = ponder.Engine(model, budget=ponder.Budget(max_steps=None), options=ponder.GenerationOptions(max_tokens=4))
    t0 = time.perf_counter()
    result = engine.run(Recursive(context_path=str(path), aggregate="count"), task.question)
    seconds = time.perf_counter() - t0
    right = seen = 0
    for step in result.steps:
        if step.kind == MAP and "record" in step.data:
            seen += 1
            right += parse_yes_no(step.text) == (task.labels[step.data["record"]] == task.label)
    return {
        "predicted": first_number(result.answer),
        "seconds": seconds,
        "calls": result.usage.model_calls,
        "record_accuracy": right / seen if seen else None,
    }


def run_single(model: ponder.Model, task: Task, bytes_per_token: float) -> dict[str, float | int | None]:
    text = "\n".join(task.lines)
    room = int((model.context_window - 256) * bytes_per_token * 0.92)
    head = text[:room]

    def prompt() -> str:
        return f"Records:\n{head}\n\nQuestion: {task.question}\nReply with the number only."

    while model.count_tokens(prompt()) > model.context_window - 128:  # keep inside the window
        head = head[: int(len(head) * 0.95)]
    engine = ponder.Engine(model, budget=ponder.Budget(max_steps=1), options=ponder.GenerationOptions(max_tokens=16))
    t0 = time.perf_counter()
    result = engine.run(ponder.Single(), prompt())
    return {
        "predicted": first_number(result.answer),
        "seconds": time.perf_counter() - t0,
        "calls": result.usage.model_calls,
        "records_seen": head.count("\n") + 1,
    }


def score(runs: list[dict[str, float | int | None]], golds: list[int]) -> dict[str, float]:
    exact = [r["predicted"] == g for r, g in zip(runs, golds, strict=True)]
    errors = [abs(int(r["predicted"] or 0) - g) / g for r, g in zip(runs, golds, strict=True)]
    return {
        "exact": sum(exact) / len(exact),
        "mare": statistics.mean(errors),
        "median_s": statistics.median(float(r["seconds"] or 0) for r in runs),
    }


def evaluate(
    model: ponder.Model,
    sizes: list[str],
    trials: int,
    seed: int,
    sentences: Sequence[str],
    workdir: Path,
    out: Path | None,
) -> list[dict[str, object]]:
    """Run every size and trial, print the table row by row, write ``out``; return the rows."""
    per_record = tokens_per_record(model, sentences, seed)
    sample = "\n".join(make_task(random.Random(seed), 200, sentences).lines)
    bytes_per_token = len(sample.encode()) / model.count_tokens(sample)
    workdir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    rows: list[dict[str, object]] = []
    print(f"model {model.name}, window {model.context_window}, {per_record:.1f} tokens/record")
    print(
        "| tokens | records | recursive exact | recursive MARE | record acc | recursive median s |"
        " single exact | single MARE | single median s | single sees | trials |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for size_text in sizes:
        n = max(1, round(parse_size(size_text) / per_record))
        golds: list[int] = []
        rec: list[dict[str, float | int | None]] = []
        flat: list[dict[str, float | int | None]] = []
        for _ in range(trials):
            task = make_task(rng, n, sentences)
            path = workdir / f"records_{size_text}.txt"
            path.write_text("\n".join(task.lines) + "\n", encoding="utf-8")
            golds.append(task.gold)
            rec.append(run_recursive(model, path, task))
            flat.append(run_single(model, task, bytes_per_token))
        r, f = score(rec, golds), score(flat, golds)
        accs = [float(x["record_accuracy"]) for x in rec if x["record_accuracy"] is not None]
        seen = statistics.mean(int(x["records_seen"] or 0) for x in flat)
        row: dict[str, object] = {
            "size": size_text,
            "records": n,
            "trials": trials,
            "gold": golds,
            "recursive_predicted": [x["predicted"] for x in rec],
            "recursive_exact": r["exact"],
            "recursive_mare": r["mare"],
            "recursive_record_accuracy": statistics.mean(accs) if accs else None,
            "recursive_median_s": r["median_s"],
            "recursive_mean_calls": statistics.mean(int(x["calls"] or 0) for x in rec),
            "single_predicted": [x["predicted"] for x in flat],
            "single_exact": f["exact"],
            "single_mare": f["mare"],
            "single_median_s": f["median_s"],
            "single_records_seen": seen,
        }
        rows.append(row)
        acc = "-" if row["recursive_record_accuracy"] is None else f"{row['recursive_record_accuracy']:.1%}"
        print(
            f"| {size_text} | {n} | {r['exact']:.0%} | {r['mare']:.3f} | {acc} | {r['median_s']:.1f} |"
            f" {f['exact']:.0%} | {f['mare']:.3f} | {f['median_s']:.1f} | {seen / n:.0%} | {trials} |",
            flush=True,
        )
        if out is not None:
            out.write_text(json.dumps(rows, indent=1))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--sizes", default="32k,64k,128k", help="input sizes in tokens")
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--haystack", type=Path, default=HAYSTACK, help="folder of essays the sentences come from")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/ponder-aggregate"))
    ap.add_argument("--out", type=Path, default=HERE / "aggregate.json")
    args = ap.parse_args(argv)
    if args.trials < 1:
        ap.error("--trials must be >= 1")
    sizes = [s for s in args.sizes.split(",") if s.strip()]
    model = ponder.load_model(args.model)
    evaluate(model, sizes, args.trials, args.seed, essay_sentences(args.haystack), args.workdir, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
