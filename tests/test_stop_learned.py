"""The learned stop policy: features, fitting, saving, and stopping refine early."""

from __future__ import annotations

import json

import pytest

from ponder import Engine, ScriptedModel, strategies
from ponder.cli import main
from ponder.errors import ConfigError
from ponder.stop_learned import FEATURES, LearnedStop, PassState, features, fit, labelled_rows, refine_passes
from ponder.store import RunStore


class Watcher:
    """A stop policy that never stops and remembers the states it was shown."""

    def __init__(self) -> None:
        self.states: list[PassState] = []

    def should_stop(self, state: PassState) -> bool:
        self.states.append(state)
        return False


def drafts_model():
    """Answers 10, then revises to 12, then 13 (critiques always find something)."""
    replies = iter(["The answer is 10.", "Wrong sum.", "The answer is 12.", "Still off.", "The answer is 13."])
    return ScriptedModel(lambda messages: next(replies))


def test_training_features_match_what_refine_sees(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    watcher = Watcher()
    result = Engine(drafts_model(), sinks=[store.sink()]).run(
        strategies.Refine(max_rounds=2, stop_policy=watcher), "What is 6+7?"
    )
    passes = refine_passes(store.events(result.run_id))
    assert [p.draft for p in passes] == ["The answer is 10.", "The answer is 12.", "The answer is 13."]
    # refine consults the policy before rounds 1 and 2, with the same state the training data holds
    assert [features(s) for s in watcher.states] == [features(p) for p in passes[:2]]
    assert passes[1].critique == "Wrong sum." and passes[1].previous == "The answer is 10."
    assert passes[2].tokens_used == result.usage.total_tokens


def test_labels_mark_passes_a_later_pass_fixes():
    passes = [PassState(i, f"The answer is {n}.") for i, n in enumerate((10, 12, 13, 13))]
    rows = labelled_rows(passes, lambda text: "13" in text)
    assert [y for _, y in rows] == [1, 1, 0, 0]
    assert len(rows[0][0]) == len(FEATURES)


def _rows():
    # another pass helps while the draft still changes a lot; not once it has settled
    rows = []
    for i in range(40):
        changing = i % 2 == 0
        state = PassState(
            i % 3,
            f"draft {i} " * (3 + i % 4),
            previous="other words entirely" if changing else f"draft {i} " * (3 + i % 4),
        )
        rows.append((features(state), int(changing)))
    return rows


def test_fit_save_load_and_predict(tmp_path):
    policy = fit(_rows())
    path = tmp_path / "policy.json"
    policy.save(path)
    loaded = LearnedStop.load(path)
    assert loaded == policy
    settled = PassState(1, "the same answer", previous="the same answer")
    moving = PassState(1, "a new answer here", previous="completely different text")
    assert loaded.should_stop(settled) and not loaded.should_stop(moving)
    assert loaded.improve_probability(moving) > 0.5 > loaded.improve_probability(settled)
    assert json.loads(path.read_text())["features"] == list(FEATURES)


def test_a_bad_policy_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    with pytest.raises(ConfigError, match="not a ponder stop policy"):
        LearnedStop.load(bad)
    bad.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ConfigError, match="not a ponder stop policy"):
        LearnedStop.load(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        LearnedStop.load(tmp_path / "missing.json")


def test_refine_stops_early_when_the_policy_says_so():
    never = LearnedStop(tuple(0.0 for _ in FEATURES), -20.0, (0.0,) * len(FEATURES), (1.0,) * len(FEATURES))
    early = Engine(drafts_model()).run(strategies.Refine(max_rounds=2, stop_policy=never), "What is 6+7?")
    assert early.usage.model_calls == 1
    assert early.answer == "The answer is 10." and early.stop_reason == "converged"
    assert early.steps[-1].data == {"verdict": "learned_stop"}
    full = Engine(drafts_model()).run(strategies.Refine(max_rounds=2), "What is 6+7?")
    assert full.usage.model_calls == 5 and full.answer == "The answer is 13."


def test_cli_stop_learned_and_resume_keep_the_policy(capsys, tmp_path):
    path = tmp_path / "policy.json"
    stop_now = LearnedStop(tuple(0.0 for _ in FEATURES), -20.0, (0.0,) * len(FEATURES), (1.0,) * len(FEATURES))
    stop_now.save(path)
    db = str(tmp_path / "runs.db")
    args = ["ask", "why?", "-m", "scripted", "-s", "refine", "--json", "--store", db]
    assert main([*args, "--stop", f"learned:{path}"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["usage"]["model_calls"] == 1 and data["stop_reason"] == "converged"
    assert RunStore(db).recipe(data["run_id"]).stop == f"learned:{path}"
    assert main(["ask", "why?", "-m", "scripted", "--stop", f"learned:{path}"]) == 1
    assert "does not apply to single" in capsys.readouterr().err
    assert main([*args, "--stop", "sometimes"]) == 1
    assert "unknown stop policy" in capsys.readouterr().err


def test_the_benchmark_script_runs_end_to_end(capsys, tmp_path, monkeypatch):
    from pathlib import Path

    bench = Path(__file__).resolve().parents[1] / "benchmarks"
    monkeypatch.syspath_prepend(str(bench))
    import learned_stop  # type: ignore[import-not-found]

    store = tmp_path / "bench.db"
    assert learned_stop.main(["--model", "scripted", "--problems", "4", "--folds", "2", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "| fixed (2 rounds) | 4 |" in out and "| learned (2-fold CV) | 4 |" in out
    # the recorded runs carry the outcomes the benchmark attached
    assert {r["outcome"] for r in RunStore(store).list_runs()} == {"incorrect"}


def test_cli_fits_a_policy_from_runs_with_outcomes(capsys, tmp_path):
    db = str(tmp_path / "runs.db")
    assert main(["runs", "fit-stop", "-o", str(tmp_path / "none.json"), "--store", db]) == 1
    assert "no refine runs with a recorded outcome" in capsys.readouterr().err
    store = RunStore(db)
    for i in range(6):
        # even runs: the answer keeps changing and ends right; odd runs: it settles at once and ends wrong
        replies = (
            ["first try", "fix it", "second try", "fix more", "the answer is 13"]
            if i % 2 == 0
            else ["same answer", "fix it", "same answer"]
        )
        result = Engine(ScriptedModel(replies), sinks=[store.sink()]).run(strategies.Refine(max_rounds=2), f"q{i}")
        store.set_outcome(result.run_id, "correct" if i % 2 == 0 else "incorrect")
    path = tmp_path / "policy.json"
    assert main(["runs", "fit-stop", "-o", str(path), "--store", db]) == 0
    assert "of 6 runs" in capsys.readouterr().out
    policy = LearnedStop.load(path)
    assert policy.should_stop(PassState(1, "same answer", previous="same answer"))
