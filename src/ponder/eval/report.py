"""``summary.json``, ``report.md`` and ``report.png`` from an evaluation's rows.

The plot (matplotlib, headless ``Agg`` backend) shows each spec as one point:
accuracy against mean model calls per item, with the 95% interval as an error
bar, so the cost of a strategy's gain is visible at a glance. Calls another arm
made that an arm read from the evaluation's cache (``--cache``) count there
too, and the table shows them beside the calls made (``3.3 (+1.0 shared)``):
the cost is the strategy's, not the order the arms ran in.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..engine.prices import dollars
from ..errors import ConfigError, PonderError
from .arms import Arm
from .stats import ArmStats, Paired, arm_stats, paired


def summarize(
    arms: Sequence[Arm], item_ids: Sequence[str], latest: dict[tuple[str, str], dict[str, Any]]
) -> dict[str, Any]:
    """The summary of the rows of ``arms`` on ``item_ids`` (the latest row of each pair)."""
    by_arm: list[dict[str, dict[str, Any]]] = []
    for arm in arms:
        by_arm.append({i: latest[(i, arm.hash)] for i in item_ids if (i, arm.hash) in latest})
    stats = [arm_stats(arm.name, arm.hash, list(rows.values())) for arm, rows in zip(arms, by_arm, strict=True)]
    comparisons = [
        paired(arm.name, arms[0].name, rows, by_arm[0]) for arm, rows in zip(arms[1:], by_arm[1:], strict=True)
    ]
    return {
        "items": len(item_ids),
        "specs": [s.to_dict() for s in stats],
        "paired": [c.to_dict() for c in comparisons],
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _own(value: float | None, shared: float | None, digits: int) -> str:
    """A per-item mean, with what other runs made for it beside it: ``3.3 (+1.0 shared)``."""
    text = _num(value, digits)
    return f"{text} (+{shared:.{digits}f} shared)" if shared and round(shared, digits) else text


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def markdown(summary: dict[str, Any]) -> str:
    """``report.md``: a row per spec, then each spec paired against the first."""
    stats = [ArmStats(**s) for s in summary["specs"]]
    lines = [
        "# ponder eval report",
        "",
        f"- data: `{summary.get('data', '-')}` ({summary['items']} items), scorer `{summary.get('scorer', '-')}`",
        f"- written {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}",
        "",
        "| spec | n | accuracy | 95% CI | mean score | calls/item | tokens/item | $/item | s/item | errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in stats:
        ci = "-" if s.ci_low is None else f"{s.ci_low:.1%}–{s.ci_high:.1%}"
        cost = "-" if s.mean_cost is None else dollars(s.mean_cost)
        lines.append(
            f"| {s.name} | {s.n} | {_pct(s.accuracy)} | {ci} | {_num(s.mean_score, 3)}"
            f" | {_own(s.mean_calls, s.mean_shared_calls, 1)} | {_own(s.mean_tokens, s.mean_shared_tokens, 0)} | {cost} | {_num(s.mean_seconds, 2)} | {s.errors} |"
        )
    pairs = [Paired(**p) for p in summary["paired"]]
    if pairs:
        lines += [
            "",
            f"Paired against `{pairs[0].baseline}` on the items both have (wins: only this spec right; losses: only"
            " the baseline right; p: exact McNemar, two-sided):",
            "",
            "| spec | vs | n | wins | losses | ties | p |",
            "|---|---|---|---|---|---|---|",
        ]
        for p in pairs:
            lines.append(f"| {p.name} | {p.baseline} | {p.n} | {p.wins} | {p.losses} | {p.ties} | {_p(p.p_value)} |")
    lines += ["", "Spec hashes: " + ", ".join(f"`{s.name}` {s.spec_hash}" for s in stats), ""]
    return "\n".join(lines)


def plot(summary: dict[str, Any], path: Path) -> None:
    """``report.png`` (see the module docs)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("ponder eval's plot needs matplotlib: pip install 'ponder-rlm[eval]'") from None
    stats = [ArmStats(**s) for s in summary["specs"] if s["n"]]
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    for s in stats:
        assert s.accuracy is not None and s.ci_low is not None and s.ci_high is not None
        x = (s.mean_calls or 0.0) + (s.mean_shared_calls or 0.0)  # what the strategy would make alone
        yerr = [[100 * (s.accuracy - s.ci_low)], [100 * (s.ci_high - s.accuracy)]]
        ax.errorbar([x], [100 * s.accuracy], yerr=yerr, fmt="o", capsize=4, label=s.name)
        ax.annotate(s.name, (x, 100 * s.accuracy), textcoords="offset points", xytext=(6, 6), fontsize=8)
    ax.set_xlabel("mean model calls per item (shared ones included)")
    ax.set_ylabel("accuracy (%), 95% interval")
    ax.set_ylim(-2, 102)
    ax.margins(x=0.2)
    ax.set_title(f"{summary['items']} items, scorer {summary.get('scorer', '-')}", fontsize=9)
    ax.grid(alpha=0.3)
    if stats:
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    try:
        fig.savefig(path)
    except OSError as exc:
        raise PonderError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        plt.close(fig)


def write_reports(summary: dict[str, Any], out: Path) -> None:
    """Write ``summary.json``, ``report.md`` and ``report.png`` into ``out``."""
    try:
        (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (out / "report.md").write_text(markdown(summary), encoding="utf-8")
    except OSError as exc:
        raise PonderError(f"cannot write the report in {out}: {exc.strerror}") from None
    plot(summary, out / "report.png")
