"""Recursive plan mode on the embedded model (SmolLM2-135M): finds a needle in a ~40k-token file."""

from __future__ import annotations

from pathlib import Path

import pytest

from layout import SHARED_DATA
from ponder import Budget, Engine, GenerationOptions, load_model
from ponder.strategies import Recursive

pytestmark = pytest.mark.integration

HAYSTACK = SHARED_DATA / "haystack"


def test_plan_mode_finds_the_needle_in_a_long_file(tmp_path: Path) -> None:
    essays = sorted(p for p in HAYSTACK.glob("*.txt"))
    if not essays:
        pytest.skip("no haystack essays in ../shared/data/haystack")
    text = "\n\n".join(p.read_text(encoding="utf-8") for p in essays)[:160_000]
    cut = text.find(". ", len(text) * 2 // 3) + 2
    path = tmp_path / "haystack.txt"
    path.write_text(text[:cut] + "The secret code for lorvikan is 583021. " + text[cut:])
    engine = Engine(load_model("smollm2"), budget=Budget(max_steps=8), options=GenerationOptions(max_tokens=48))
    result = engine.run(Recursive(context_path=str(path)), "What is the secret code for lorvikan?")
    assert result.answer is not None and "583021" in result.answer
    assert result.usage.model_calls <= 4
