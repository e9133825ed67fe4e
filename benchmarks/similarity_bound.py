"""Refine's convergence check on long replies: difflib (before issue 12) vs ponder.stop.similarity (rapidfuzz).

    python benchmarks/similarity_bound.py [--sizes 1k,10k,100k,1m] [--difflib-max 10k]

For each size, a random "draft" of that many characters (words of 3-8 letters) and a
"revision" with about 2% of its words changed; both measures are timed on the pair
(best of 3). difflib is only run up to ``--difflib-max`` (it is quadratic: past that it
takes minutes); ``similarity`` uses rapidfuzz's exact Indel ratio up to 20k characters
and a linear word-trigram estimate beyond. Prints one table; ratios side by side.
"""

from __future__ import annotations

import argparse
import difflib
import os
import random
import time

from ponder.stop.similarity import EXACT_LIMIT, similarity


def _size(text: str) -> int:
    text = text.lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * scale)


def _pair(n: int, rng: random.Random) -> tuple[str, str]:
    words: list[str] = []
    length = 0
    while length < n:
        word = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 8)))
        words.append(word)
        length += len(word) + 1
    revised = [w if rng.random() > 0.02 else w[::-1] + "x" for w in words]
    return " ".join(words), " ".join(revised)


def _best(fn, runs: int = 3) -> tuple[float, float]:
    best, value = float("inf"), 0.0
    for _ in range(runs):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1k,10k,100k,1m")
    parser.add_argument("--difflib-max", default="10k")
    args = parser.parse_args()
    rng = random.Random(0)
    limit = _size(args.difflib_max)
    print(f"cores: {os.cpu_count()}  load: {' '.join(f'{x:.2f}' for x in os.getloadavg())}  exact up to {EXACT_LIMIT}")
    print(f"{'chars':>9}  {'difflib s':>10}  {'ratio':>6}  {'ponder s':>9}  {'ratio':>6}  {'speed-up':>8}")
    for n in (_size(s) for s in args.sizes.split(",")):
        a, b = _pair(n, rng)
        ours, ours_ratio = _best(lambda a=a, b=b: similarity(a, b))
        if n <= limit:
            slow, slow_ratio = _best(
                lambda a=a, b=b: difflib.SequenceMatcher(None, a, b, autojunk=False).ratio(), runs=1
            )
            print(f"{n:>9}  {slow:>10.3f}  {slow_ratio:>6.3f}  {ours:>9.4f}  {ours_ratio:>6.3f}  {slow / ours:>7.0f}x")
        else:
            print(f"{n:>9}  {'(skipped)':>10}  {'':>6}  {ours:>9.4f}  {ours_ratio:>6.3f}  {'':>8}")


if __name__ == "__main__":
    main()
