"""Needle in a haystack (single needle, as RULER's S-NIAH): flat single pass vs recursive plan mode.

    python benchmarks/niah.py --sizes 4k,16k,64k,256k,1M --trials 20 --flat-trials 5 [--model smollm2]

A random fact "The secret code for <key> is <value>." is inserted at a random
depth of a haystack built from ../shared/data/haystack/*.txt (essays repeated
to reach the size); the question asks for the value. A trial is right when the
answer contains the value. The flat baseline sends the haystack truncated to
the model's window (its head) in one prompt. Writes the raw numbers to
benchmarks/niah.json (plot them with benchmarks/plot_niah.py); a run over some
sizes replaces those sizes' rows and keeps the others.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

import ponder
from ponder.strategies import Recursive

HERE = Path(__file__).resolve().parent
HAYSTACK = HERE.parent.parent / "shared" / "data" / "haystack"
_SYLLABLES = ["ka", "ro", "vi", "tu", "mel", "zan", "qui", "dor", "fen", "lox", "bra", "nim", "sor", "pel", "gri"]


def parse_size(text: str) -> int:
    text = text.strip().lower()
    mult = {"k": 1024, "m": 1024 * 1024}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * mult)


def essays() -> bytes:
    files = sorted(p for p in HAYSTACK.glob("*.txt") if p.name != "LICENSE")
    return b"\n\n".join(p.read_bytes().strip() for p in files)


def build(corpus: bytes, size_bytes: int, needle: bytes, depth: float, path: Path) -> None:
    """Write a haystack of ``size_bytes`` with ``needle`` at ``depth`` (0..1), at a sentence boundary."""
    at = int(size_bytes * depth)
    with path.open("wb") as f:
        written, done = 0, False
        while written < size_bytes:
            piece = corpus[: size_bytes - written]
            if not done and written + len(piece) >= at:
                cut = piece.find(b". ", at - written)
                cut = len(piece) if cut == -1 else cut + 2
                piece = piece[:cut] + needle + b" " + piece[cut:]
                done = True
            f.write(piece)
            written += len(piece)


def trial_fact(rng: random.Random) -> tuple[str, str]:
    key = "".join(rng.choice(_SYLLABLES) for _ in range(3))
    return key, str(rng.randrange(100_000, 1_000_000))


def run_recursive(model: ponder.Model, path: Path, question: str) -> tuple[str | None, float, int]:
    engine = ponder.Engine(model, budget=ponder.Budget(max_steps=16), options=ponder.GenerationOptions(max_tokens=48))
    t0 = time.perf_counter()
    result = engine.run(Recursive(context_path=str(path)), question)
    return result.answer, time.perf_counter() - t0, result.usage.model_calls


def run_flat(model: ponder.Model, path: Path, question: str, bytes_per_token: float) -> tuple[str | None, float, int]:
    room = int((model.context_window - 256) * bytes_per_token * 0.92)
    head = path.read_bytes()[:room].decode("utf-8", errors="ignore")
    prompt = f"Text:\n{head}\n\nQuestion: {question}\nReply with the answer only."
    while model.count_tokens(prompt) > model.context_window - 128:  # keep inside the window
        head = head[: int(len(head) * 0.95)]
        prompt = f"Text:\n{head}\n\nQuestion: {question}\nReply with the answer only."
    engine = ponder.Engine(model, budget=ponder.Budget(max_steps=1), options=ponder.GenerationOptions(max_tokens=48))
    t0 = time.perf_counter()
    result = engine.run(ponder.Single(), prompt)
    return result.answer, time.perf_counter() - t0, result.usage.model_calls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="4k,16k,64k,256k,1M", help="input sizes in tokens")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--flat-trials", type=int, default=None, help="trials of the flat baseline (default: --trials)")
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/ponder-niah"))
    ap.add_argument("--out", type=Path, default=HERE / "niah.json")
    args = ap.parse_args()
    model = ponder.load_model(args.model)
    corpus = essays()
    sample = corpus[:200_000].decode("utf-8", errors="ignore")
    bytes_per_token = len(sample.encode()) / model.count_tokens(sample)
    flat_trials = args.trials if args.flat_trials is None else args.flat_trials
    args.workdir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    rows: list[dict[str, Any]] = []
    # sizes not run this time keep their rows from an earlier run
    previous = json.loads(args.out.read_text()) if args.out.exists() else []
    print(f"model {model.name}, window {model.context_window}, {bytes_per_token:.2f} bytes/token")
    print("| tokens | recursive acc | recursive median s | calls | flat acc | flat median s | trials (rec/flat) |")
    print("|---|---|---|---|---|---|---|", flush=True)
    for size_text in args.sizes.split(","):
        tokens = parse_size(size_text)
        size_bytes = int(tokens * bytes_per_token)
        rec: list[tuple[bool, float, int]] = []
        flat: list[tuple[bool, float, int]] = []
        for t in range(args.trials):
            key, value = trial_fact(rng)
            depth = rng.random()
            path = args.workdir / f"haystack_{size_text}.txt"
            build(corpus, size_bytes, f"The secret code for {key} is {value}.".encode(), depth, path)
            question = f"What is the secret code for {key}?"
            answer, seconds, calls = run_recursive(model, path, question)
            rec.append((value in (answer or ""), seconds, calls))
            if t < flat_trials:
                answer, seconds, calls = run_flat(model, path, question, bytes_per_token)
                flat.append((value in (answer or ""), seconds, calls))
        row = {
            "size": size_text,
            "tokens": tokens,
            "recursive_accuracy": sum(r[0] for r in rec) / len(rec),
            "recursive_median_s": statistics.median(r[1] for r in rec),
            "recursive_mean_calls": statistics.mean(r[2] for r in rec),
            "recursive_trials": len(rec),
            "flat_accuracy": sum(r[0] for r in flat) / len(flat) if flat else None,
            "flat_median_s": statistics.median(r[1] for r in flat) if flat else None,
            "flat_trials": len(flat),
        }
        rows.append(row)
        fa = "-" if row["flat_accuracy"] is None else f"{row['flat_accuracy']:.0%}"
        fs = "-" if row["flat_median_s"] is None else f"{row['flat_median_s']:.1f}"
        print(
            f"| {size_text} | {row['recursive_accuracy']:.0%} | {row['recursive_median_s']:.1f} |"
            f" {row['recursive_mean_calls']:.1f} | {fa} | {fs} | {len(rec)}/{len(flat)} |",
            flush=True,
        )
        merged = {r["tokens"]: r for r in previous} | {r["tokens"]: r for r in rows}
        args.out.write_text(json.dumps(sorted(merged.values(), key=lambda r: r["tokens"]), indent=1))


if __name__ == "__main__":
    main()
