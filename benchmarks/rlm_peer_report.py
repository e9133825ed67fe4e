"""The table and plot of ``benchmarks/rlm_peer.py``, from its JSONL rows (one line per trial)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

ORDER = ("code", "code-smol", "plan", "flat", "rlms")
LABELS = {
    "code": "ponder code (sub coder)",
    "code-smol": "ponder code (sub smollm2)",
    "plan": "ponder plan",
    "flat": "flat single pass",
    "rlms": "rlms 0.1.3",
}
KIND_ORDER = ("multi_key", "multi_value", "variable_tracking", "counting")
#: stop reasons that mean the trial's time limit ended it (ponder's budget, rlms's own limit or its
#: client's per-call timeout, or the kill past the limit)
LIMITS = ("killed", "budget", "TimeoutExceededError", "APITimeoutError")


def read_rows(out_dir: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in sorted(out_dir.glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows


def _rank(row: dict[str, Any]) -> tuple[int, int, int]:
    kind = KIND_ORDER.index(row["kind"]) if row["kind"] in KIND_ORDER else 9
    system = ORDER.index(row["system"]) if row["system"] in ORDER else 9
    return kind, row["tokens"], system


def _size(tokens: int) -> str:
    return f"{tokens // 1_000_000}M" if tokens >= 1_000_000 and tokens % 1_000_000 == 0 else f"{tokens // 1000}k"


def groups(rows: list[dict[str, Any]]) -> dict[tuple[str, int, str], list[dict[str, Any]]]:
    out: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for row in sorted(rows, key=_rank):
        if not row.get("skipped"):
            out.setdefault((row["kind"], row["tokens"], row["system"]), []).append(row)
    return out


def _mean(group: list[dict[str, Any]], field: str) -> str:
    values = [r[field] for r in group if isinstance(r.get(field), int | float)]
    return f"{statistics.mean(values):,.0f}" if values else "–"


def table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| task | size | system | n | accuracy (mean score) | exact | median s | mean calls |"
        " mean prompt tok | mean gen tok | stopped by limit |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (kind, tokens, system), group in groups(rows).items():
        score = 100 * statistics.mean(r["score"] for r in group)
        exact = sum(bool(r["exact"]) for r in group)
        median = statistics.median(r["seconds"] for r in group)
        limited = sum(r["stop_reason"] in LIMITS for r in group)
        lines.append(
            f"| {kind} | {_size(tokens)} | {LABELS.get(system, system)} | {len(group)} | {score:.0f}% |"
            f" {exact}/{len(group)} | {median:.0f} | {_mean(group, 'calls')} | {_mean(group, 'prompt_tokens')} |"
            f" {_mean(group, 'completion_tokens')} | {limited} |"
        )
    return lines


def totals(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| system | trials | accuracy | exact | median s | total s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for system in ORDER:
        group = [r for r in rows if r["system"] == system and not r.get("skipped")]
        if group:
            lines.append(
                f"| {LABELS[system]} | {len(group)} | {100 * statistics.mean(r['score'] for r in group):.0f}% |"
                f" {sum(bool(r['exact']) for r in group)}/{len(group)} |"
                f" {statistics.median(r['seconds'] for r in group):.0f} | {sum(r['seconds'] for r in group):,.0f} |"
            )
    return lines


def report(out_dir: Path, plot_path: Path | None, seeds: set[int] | None = None) -> list[dict[str, Any]]:
    """Print the table of the rows in ``out_dir`` (only those of ``seeds`` when given) and draw the plot."""
    rows = [r for r in read_rows(out_dir) if seeds is None or r["seed"] in seeds]
    if not rows:
        print(f"no rows in {out_dir}")
        return rows
    kept = [r for r in rows if not r.get("skipped")]
    loads = [r["load_before"] for r in rows if "load_before" in r]
    finished = sorted(r["finished"] for r in rows if "finished" in r)
    print(f"\n{len(kept)} trials ({len(rows) - len(kept)} skipped by the trial itself) from {out_dir}")
    if finished:
        print(f"finished between {finished[0][:16]} and {finished[-1][:16]} UTC")
    if loads:
        print(f"load average (1 min) at trial start: min {min(loads):.1f}, median {statistics.median(loads):.1f},"
              f" max {max(loads):.1f}")  # fmt: skip
    print("models: " + ", ".join(sorted({str(r.get("model")) for r in rows})))
    print("ponder: " + ", ".join(sorted({str(r.get("ponder")) for r in rows})))
    print()
    print("\n".join(table(rows)))
    print()
    print("\n".join(totals(rows)))
    for row in rows:
        if row.get("skipped"):
            print(
                f"skipped: {row['system']} {row['kind']} {_size(row['tokens'])} seed {row['seed']}: {row['stop_reason']}"
            )
    if plot_path is not None:
        plot(kept, plot_path)
    return rows


def plot(rows: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [k for k in KIND_ORDER if any(r["kind"] == k for r in rows)]
    if not kinds:
        return
    fig, axes = plt.subplots(2, len(kinds), figsize=(3.4 * len(kinds), 6.2), dpi=110, squeeze=False)
    styles = {"code": "s-", "code-smol": "D--", "plan": "o-", "flat": "^:", "rlms": "x-"}
    colors = {"code": "C0", "code-smol": "C1", "plan": "C2", "flat": "C3", "rlms": "C4"}
    cells = groups(rows)
    for col, kind in enumerate(kinds):
        for system in ORDER:
            points = sorted(
                (tokens, 100 * statistics.mean(r["score"] for r in g), statistics.median(r["seconds"] for r in g))
                for (k, tokens, s), g in cells.items()
                if k == kind and s == system
            )
            if not points:
                continue
            xs = [p[0] for p in points]
            style = {"color": colors[system], "label": LABELS[system]}
            axes[0][col].plot(xs, [p[1] for p in points], styles[system], **style)
            axes[1][col].plot(xs, [p[2] for p in points], styles[system], **style)
        axes[0][col].set_title(kind.replace("_", " "))
        axes[0][col].set_ylim(-5, 105)
        for row in (0, 1):
            axes[row][col].set_xscale("log")
            axes[row][col].set_xlabel("input tokens")
        axes[1][col].set_yscale("log")
    axes[0][0].set_ylabel("accuracy (mean score, %)")
    axes[1][0].set_ylabel("median wall s per task")
    handles: dict[str, Any] = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=len(handles), fontsize=8)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(out)
    plt.close(fig)
