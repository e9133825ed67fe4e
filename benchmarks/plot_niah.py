"""Plot needle-in-a-haystack accuracy against input length from benchmarks/niah.json.

python benchmarks/plot_niah.py [--data benchmarks/niah.json] [--out benchmarks/niah.png]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=HERE / "niah.json")
    ap.add_argument("--out", type=Path, default=HERE / "niah.png")
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(json.loads(args.data.read_text()), key=lambda r: r["tokens"])
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    xs = [r["tokens"] for r in rows]
    ax.plot(xs, [100 * r["recursive_accuracy"] for r in rows], "o-", label="recursive (plan mode)")
    flat = [r for r in rows if r.get("flat_accuracy") is not None]
    ax.plot([r["tokens"] for r in flat], [100 * r["flat_accuracy"] for r in flat], "s--", label="flat (truncated)")
    ax.axvline(8192, color="grey", lw=0.8, ls=":")
    ax.text(8192, 5, " 8k window", color="grey", fontsize=8)
    ax.set_xscale("log", base=2)
    ax.set_xticks(xs, [r["size"] for r in rows])
    ax.set_ylim(0, 105)
    ax.set_xlabel("input length (tokens)")
    ax.set_ylabel("needle found (%)")
    ax.set_title("Needle in a haystack, SmolLM2-135M")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
