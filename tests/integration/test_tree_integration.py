"""One short tree search on the embedded model (SmolLM2-135M), through the public API."""

from __future__ import annotations

import pytest

import ponder
from ponder.strategies import Tree
from ponder.tasks import check_expression

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def model() -> ponder.Model:
    try:
        return ponder.load_model("smollm2")
    except ponder.PonderError as exc:  # pragma: no cover - depends on the machine
        pytest.skip(str(exc))


def test_short_tree_run_on_an_easy_puzzle(model: ponder.Model) -> None:
    engine = ponder.Engine(model, budget=ponder.Budget(max_steps=12), options=ponder.GenerationOptions(max_tokens=96))
    result = engine.run(Tree(branch=4, beam=2), "Use 1 2 3 4 to make 24")
    assert result.stop_reason in {"answered", "converged", "max_steps"}
    if result.answer is not None:  # whatever the model found must pass the exact check
        assert check_expression(result.answer, [1, 2, 3, 4]).ok
    records = [s.data for s in result.steps if s.kind == "node"]
    assert records and records[0] == {**records[0], "node": 0, "parent": None, "status": "expanded"}
    ids = {r["node"] for r in records}
    assert all(r["parent"] is None or r["parent"] in ids for r in records)
    assert {r["status"] for r in records} <= {"expanded", "kept", "pruned", "invalid", "solution"}
    proposes = [s for s in result.steps if s.kind == "propose"]
    assert proposes and proposes[0].data == {"node": 0}
    # every valid child's step was computed by the checker, so its text is exact arithmetic
    for record, step in ((s.data, s) for s in result.steps if s.kind == "node" and s.data["depth"] == 1):
        if record["status"] != "invalid":
            assert "(left: " in step.text
