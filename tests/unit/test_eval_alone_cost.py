"""``benchmarks/eval_alone_cost.py``: an arm's cost alone, from its rows or, for rows without
``shared_calls``, recomputed from the evaluation store's events (the two must agree)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks_smoke_helpers import _load
from ponder.eval import Item
from ponder.eval.arms import arms_from_flags
from ponder.eval.execute import Task, run_item
from ponder.run_models import ModelCache
from ponder.spec import ModelSpec
from ponder.store import RunStore


def _evaluate(tmp_path: Path) -> tuple[Path, Path, list[dict[str, object]]]:
    """Two items under single then refine, sharing the evaluation store's cache: refine's draft is single's call."""
    store = tmp_path / "runs.db"
    models = ModelCache()
    models.get(ModelSpec("scripted")).cacheable = True  # the echo fake's reply follows from its prompt
    arms = arms_from_flags(["single", "refine"], [], {"model_spec": "scripted", "cache": True}, {"model_spec", "cache"})
    rows = []
    with RunStore(store) as runs:
        for n, question in enumerate(("say 7", "say 9")):
            item = Item(str(n), question, question[-1]).to_dict()
            for arm in arms:
                task = Task(
                    arm.name, arm.for_item(Item.from_dict(item)).to_json(), arm.hash, item, "number", str(store)
                )
                result = run_item(task, models)
                root = str(result.row["run_id"])
                runs.write_events([(root, event) for event in result.events])
                rows.append(result.row)
    return tmp_path / "out", store, rows


def _report(out: Path, store: Path, rows: list[dict[str, object]], capsys: pytest.CaptureFixture[str]) -> str:
    out.mkdir(exist_ok=True)
    (out / "results.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    _load("eval_alone_cost").main(out, store)
    return capsys.readouterr().out


def test_alone_cost_adds_the_calls_another_arm_made(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, store, rows = _evaluate(tmp_path)
    refine = [row for row in rows if row["spec"] == "refine"]
    assert all(row["shared_calls"] == 1 for row in refine)
    printed = _report(out, store, rows, capsys)
    lines = {line.split(":")[0]: line for line in printed.splitlines()}
    assert lines["2 items with every arm"]
    assert "calls 1.00 made + 0.00 shared = 1.00 alone" in lines["single"]
    made = sum(int(row["model_calls"]) for row in refine) / 2
    assert f"calls {made:.2f} made + 1.00 shared = {made + 1:.2f} alone" in lines["refine"]
    # rows written before ponder recorded shared calls: the same figures, from the store's events
    older = [{k: v for k, v in row.items() if k not in ("shared_calls", "shared_tokens")} for row in rows]
    assert _report(out, store, older, capsys) == printed
