"""The learned stop policy: features, fitting, saving, and stopping refine early."""

from __future__ import annotations

import json

import pytest

from layout import BENCHMARKS
from ponder import Engine, ScriptedModel, strategies
from ponder.cli import main
from ponder.errors import ConfigError
from ponder.stop import (
    FEATURES,
    VOTE_FEATURES,
    LearnedStop,
    PassState,
    VoteState,
    features,
    fit,
    labelled_rows,
    refine_passes,
    vote_features,
    vote_waves,
    wave_rows,
)
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
    assert RunStore(db).spec_data(data["run_id"])["stop"] == f"learned:{path}"
    assert main(["ask", "why?", "-m", "scripted", "--stop", f"learned:{path}"]) == 1
    assert "does not apply to single" in capsys.readouterr().err
    assert main([*args, "--stop", "sometimes"]) == 1
    assert "unknown stop policy" in capsys.readouterr().err


def test_the_benchmark_script_runs_end_to_end(capsys, tmp_path, monkeypatch):

    bench = BENCHMARKS
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
    RunStore(db).close()
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


# -- consistency ----------------------------------------------------------------------


class VoteWatcher:
    """A consistency stop policy that never stops and remembers the states it was shown."""

    def __init__(self) -> None:
        self.states: list[VoteState] = []

    def should_stop(self, state: VoteState) -> bool:
        self.states.append(state)
        return False


def votes_model(*answers: str | None):
    """Samples in order (sequential calls): 'The answer is N.' per answer, 'no idea' for None, repeating."""
    replies = [f"The answer is {a}." if a is not None else "no idea" for a in answers]
    count = iter(range(10_000))
    return ScriptedModel(lambda messages: replies[next(count) % len(replies)], supports_concurrency=False)


def test_consistency_stops_after_the_first_wave_when_the_policy_says_stop():
    stop = LearnedStop.constant(True, "consistency")
    result = Engine(votes_model("3", "7", "7", "3", "7")).run(strategies.Consistency(stop_policy=stop), "q?")
    # the first wave (3 of 5: 3, 7, 7) leaves the vote open; the policy ends the run there
    assert result.usage.model_calls == 3
    assert result.answer == "The answer is 7." and result.stop_reason == "converged"
    assert [s.kind for s in result.steps] == ["sample"] * 3 + ["vote", "check"]
    assert result.steps[-1].data == {"verdict": "learned_stop"}
    assert result.steps[-2].data["final"] is True
    assert "learned stop policy" in result.detail and "confidence 0.67" in result.detail
    assert "stopped early after 3 of 5 samples" in result.detail


def test_consistency_goes_on_when_the_policy_says_continue_and_sees_the_vote():
    go_on = LearnedStop.constant(False, "consistency")
    result = Engine(votes_model("3", "7", "7", "3", "7")).run(strategies.Consistency(stop_policy=go_on), "q?")
    assert result.usage.model_calls == 5 and result.stop_reason == "answered"
    assert result.answer == "The answer is 7." and all(s.kind != "check" for s in result.steps)
    watcher = VoteWatcher()
    Engine(votes_model("3", "7", "7", "3", "7")).run(strategies.Consistency(stop_policy=watcher), "q?")
    # waves of 3, 1, 1 samples; asked after the first two (the last leaves nothing to draw)
    assert [(s.wave, s.samples, s.weights) for s in watcher.states] == [(0, 3, (2.0, 1.0)), (1, 4, (2.0, 2.0))]
    first = dict(zip(VOTE_FEATURES, vote_features(watcher.states[0]), strict=True))
    assert first["samples_left"] == 2 and first["margin"] == 1 and first["distinct_answers"] == 2
    assert first["leader_share"] == pytest.approx(2 / 3) and first["abstain_share"] == 0


def test_a_stop_policy_makes_a_non_adaptive_consistency_draw_in_waves():
    stop = LearnedStop.constant(True, "consistency")
    same = ScriptedModel(lambda messages: "The answer is 4.")
    result = Engine(same).run(strategies.Consistency(adaptive=False, stop_policy=stop), "q?")
    assert result.usage.model_calls == 3 and result.steps[-1].data == {"verdict": "learned_stop"}
    # adaptive: the exact rule settles 3 of 3 agreeing samples first, so the policy is not asked
    watcher = VoteWatcher()
    settled = Engine(same).run(strategies.Consistency(stop_policy=watcher), "q?")
    assert settled.usage.model_calls == 3 and watcher.states == [] and settled.steps[-1].kind == "vote"


def test_a_policy_fitted_on_the_other_strategy_is_a_clear_error(tmp_path):
    refine_policy = LearnedStop.constant(True)
    with pytest.raises(ConfigError, match="fitted on refine passes, but consistency asks it about consistency waves"):
        strategies.Consistency(stop_policy=refine_policy)
    vote_policy = LearnedStop.constant(True, "consistency")
    with pytest.raises(ConfigError, match="fitted on consistency waves, but refine"):
        strategies.Refine(stop_policy=vote_policy)
    with pytest.raises(ConfigError, match="fitted on refine passes"):
        refine_policy.should_stop(VoteState(0, 3, 5, (2.0, 1.0), 0, 3.0))
    # the file says which states it was fitted on
    path = tmp_path / "votes.json"
    vote_policy.save(path)
    data = json.loads(path.read_text())
    assert data["state"] == "consistency" and data["version"] == 2 and data["features"] == list(VOTE_FEATURES)
    assert LearnedStop.load(path) == vote_policy
    data["features"] = list(FEATURES)
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="other features"):
        LearnedStop.load(path)


def test_version_1_refine_policy_files_still_load(tmp_path):
    old = {
        "format": "ponder-learned-stop",
        "version": 1,
        "features": list(FEATURES),
        "weights": [0.5] * len(FEATURES),
        "intercept": -1.0,
        "mean": [0.0] * len(FEATURES),
        "scale": [1.0] * len(FEATURES),
        "threshold": 0.4,
        "min_passes": 1,
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    policy = LearnedStop.load(path)
    assert policy.state == "refine" and policy.threshold == 0.4 and policy.min_passes == 1
    assert policy.names == FEATURES
    strategies.Refine(stop_policy=policy)  # accepted by refine
    with pytest.raises(ConfigError, match="fitted on refine passes"):
        strategies.Consistency(stop_policy=policy)
    path.write_text(json.dumps({**old, "version": 3}))
    with pytest.raises(ConfigError, match="format version 3"):
        LearnedStop.load(path)


def _record(store, model, strategy, question="q?"):
    return Engine(model, sinks=[store.sink()]).run(strategy, question)


def test_waves_of_stored_consistency_runs_match_what_consistency_sees(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    # recorded without early stopping: all five samples in one batch
    full = _record(store, votes_model("3", "7", "7", "3", "7"), strategies.Consistency(adaptive=False))
    waves = vote_waves(store.events(full.run_id))
    watcher = VoteWatcher()
    Engine(votes_model("3", "7", "7", "3", "7")).run(strategies.Consistency(stop_policy=watcher), "q?")
    assert [w.state for w in waves] == watcher.states  # same states, tokens included
    sample_tokens = [s.usage.total_tokens for s in full.steps if s.kind == "sample"]
    assert waves[1].state.tokens_used == sum(sample_tokens[:4])
    assert [(w.leader, w.reference) for w in waves] == [("7", "7"), ("3", "7")]
    # stopping after 4 samples would give 3 instead of 7: different, and worse when 7 is right
    assert [y for _, y in wave_rows(waves)] == [0, 1]
    assert [y for _, y in wave_rows(waves, lambda key: key == "7")] == [0, 1]
    # when 3 is right, stopping early there is better, never worse
    assert [y for _, y in wave_rows(waves, lambda key: key == "3")] == [0, 0]
    assert [x for x, _ in wave_rows(waves)] == [vote_features(s) for s in watcher.states]


def test_waves_with_an_inner_strategy_are_one_sample_each(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    sampler = strategies.Consistency(inner=strategies.Single(), samples=4, adaptive=False)
    run = _record(store, votes_model("3", "7", "7", "7"), sampler)
    waves = vote_waves(store.events(run.run_id))
    watcher = VoteWatcher()
    live = strategies.Consistency(inner=strategies.Single(), samples=4, stop_policy=watcher)
    Engine(votes_model("3", "7", "7", "7")).run(live, "q?")
    assert [w.state.samples for w in waves] == [1, 2, 3] and [w.state for w in waves] == watcher.states
    assert all(w.state.tokens_used == 0 for w in waves)  # child runs' tokens are not visible to consistency
    assert [y for _, y in wave_rows(waves)] == [1, 1, 0]  # 3 leads after 1 sample, and on a tie after 2


def test_waves_count_abstentions_and_need_a_known_reference(tmp_path):
    store = RunStore(tmp_path / "runs.db")
    run = _record(store, votes_model("3", None, "7", "7", "7"), strategies.Consistency(adaptive=False))
    (wave,) = vote_waves(store.events(run.run_id))  # 3 of 5, then the last 2 in one wave
    named = dict(zip(VOTE_FEATURES, vote_features(wave.state), strict=True))
    assert named["abstain_share"] == pytest.approx(1 / 3) and named["leader_share"] == pytest.approx(1 / 3)
    assert named["margin"] == 0 and named["samples"] == 3 and wave.leader == "3" and wave.reference == "7"
    assert wave_rows([wave]) == [(vote_features(wave.state), 1)]
    # an exact adaptive stop (3 of 3 agree) proves the final answer: its waves are labelled
    exact = _record(store, votes_model("7"), strategies.Consistency(samples=7))
    assert exact.usage.model_calls == 4
    assert [(w.state.samples, w.leader, w.reference) for w in vote_waves(store.events(exact.run_id))] == [(4, "7", "7")]
    # a learned stop leaves the vote open: no reference, so no waves
    stopped = _record(
        store,
        votes_model("3", "7", "7", "3", "7"),
        strategies.Consistency(stop_policy=LearnedStop.constant(True, "consistency")),
    )
    assert stopped.usage.model_calls == 3 and vote_waves(store.events(stopped.run_id)) == []


def test_fit_a_consistency_policy_that_stops_on_a_clear_lead(tmp_path):
    rows = []
    for i in range(30):
        clear = i % 2 == 0
        state = VoteState(0, 3, 5, (3.0,) if clear else (1.0, 1.0, 1.0), 0, 3.0, 40 + i)
        rows.append((vote_features(state), int(not clear)))
    policy = fit(rows, state="consistency")
    path = tmp_path / "policy.json"
    policy.save(path)
    loaded = LearnedStop.load(path)
    assert loaded == policy and loaded.state == "consistency"
    assert loaded.should_stop(VoteState(0, 3, 5, (3.0,), 0, 3.0, 45))
    assert not loaded.should_stop(VoteState(0, 3, 5, (1.0, 1.0, 1.0), 0, 3.0, 45))
    with pytest.raises(ConfigError, match="not consistency waves"):
        fit(_rows(), state="consistency")


def test_cli_consistency_with_a_learned_stop(capsys, tmp_path):
    path = tmp_path / "votes.json"
    LearnedStop.constant(True, "consistency").save(path)
    args = ["ask", "What is 2+2? 4", "-m", "scripted", "-s", "consistency", "--json"]
    # without --no-adaptive, three agreeing echoes settle the vote before the policy is asked
    assert main([*args, "--no-adaptive", "--stop", f"learned:{path}"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["usage"]["model_calls"] == 3 and data["stop_reason"] == "converged"
    assert data["steps"][-1]["kind"] == "check" and data["steps"][-1]["data"] == {"verdict": "learned_stop"}
    assert data["answer"] == "echo: What is 2+2? 4"
    refine_policy = tmp_path / "refine.json"
    LearnedStop.constant(True).save(refine_policy)
    assert main([*args, "--stop", f"learned:{refine_policy}"]) == 1
    err = capsys.readouterr().err
    assert f"--stop learned:{refine_policy}" in err and "fitted on refine passes" in err
    assert main(["ask", "q", "-m", "scripted", "-s", "single", "--stop", f"learned:{path}"]) == 1
    assert "--strategy refine or --strategy consistency" in capsys.readouterr().err


def test_cli_fits_a_consistency_policy_from_stored_runs(capsys, tmp_path):
    db = str(tmp_path / "runs.db")
    store = RunStore(db)
    assert main(["runs", "fit-stop", "--strategy", "consistency", "-o", str(tmp_path / "x.json"), "--store", db]) == 1
    assert "no consistency runs" in capsys.readouterr().err
    for i in range(4):
        answers = ("3", "7", "7", "3", "7") if i % 2 else ("7", "7", "3", "7", "7")
        _record(store, votes_model(*answers), strategies.Consistency(adaptive=False), f"q{i}")
    path = tmp_path / "votes.json"
    assert main(["runs", "fit-stop", "--strategy", "consistency", "-o", str(path), "--store", db]) == 0
    # two waves per run; only the 2-2 tie after 4 samples of the odd runs would change the answer
    assert "fitted on 8 waves of 4 runs" in capsys.readouterr().out
    policy = LearnedStop.load(path)
    assert policy.state == "consistency"
    tie, lead = (vote_waves(store.events(r))[1].state for r in store.root_ids(strategy="consistency")[:2][::-1])
    assert tie.weights == (2.0, 2.0) and lead.weights == (3.0, 1.0)
    assert not policy.should_stop(tie) and policy.should_stop(lead)


def test_the_benchmark_runs_consistency_end_to_end(capsys, tmp_path, monkeypatch):

    bench = BENCHMARKS
    monkeypatch.syspath_prepend(str(bench))
    import learned_stop  # type: ignore[import-not-found]

    data = tmp_path / "gsm8k.jsonl"  # GSM8K-shaped problems, all with the answer 7
    data.write_text("".join(json.dumps({"question": f"Problem {i}?", "answer": "#### 7"}) + "\n" for i in range(4)))
    store = tmp_path / "bench.db"
    # every problem's samples: 3, 7, 7, 3, 7 -- the vote is open after 3 and tied after 4, 7 wins at 5
    args = ["--strategy", "consistency", "--problems", "4", "--folds", "2", "--store", str(store), "--data", str(data)]
    assert learned_stop.main(args, model=votes_model("3", "7", "7", "3", "7")) == 0
    out = capsys.readouterr().out
    assert "| fixed (all 5 samples) | 4 | 1.00 | 5.00 | 20 |" in out
    assert "| adaptive (exact early stop, N=5) | 4 | 1.00 | 5.00 | 20 |" in out
    # trained on the other fold: stopping after 4 samples (tie, 3 leads) is wrong, after 3 it is right
    assert "| learned (2-fold CV) | 4 | 1.00 | 3.00 | 12 |" in out
    assert {r["outcome"] for r in RunStore(store).list_runs()} == {"correct"}
