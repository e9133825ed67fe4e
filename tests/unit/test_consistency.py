"""consistency: sampling with distinct seeds, extraction, votes, ties, adaptive stopping, concurrency."""

from __future__ import annotations

import json

import pytest

from consistency_helpers import _bench
from inflight import InFlight
from ponder import Budget, Completion, ConfigError, Engine, GenerationOptions, ScriptedModel
from ponder.extract import extractor, last_number, normalize, regex
from ponder.stop import Tally, next_wave
from ponder.strategies import Consistency, Single
from ponder.verifiers import Check, Verdict


def run(replies, budget=None, concurrent=False, **kw):
    """Replies are consumed in call order (sequential backend, so sample i gets reply i)."""
    model = ScriptedModel(replies, supports_concurrency=concurrent)
    engine = Engine(model, budget=budget or Budget(max_steps=50), options=GenerationOptions(max_tokens=77))
    return model, engine.run(Consistency(**kw), "How many apples?")


def votes(result):
    return [s for s in result.steps if s.kind == "vote"]


def test_majority_wins_and_confidence_is_reported():
    model, result = run(["so 4 apples", "I get 5", "it is 4.", "4", "answer: 7"], adaptive=False)
    assert result.stop_reason == "answered"
    assert result.answer == "so 4 apples"  # the winner's first sample, verbatim
    assert len(model.calls) == 5
    final = votes(result)[-1].data
    assert final["counts"] == {"4": 3, "5": 1, "7": 1}
    assert final["leader"] == "4"
    assert final["confidence"] == pytest.approx(0.6)
    assert [v["answer"] for v in final["votes"]] == ["4", "5", "4", "4", "7"]
    assert final["final"] is True
    assert "confidence 0.60" in result.detail
    assert "3 of 5 samples agree" in result.detail


def test_extracted_answer_mode():
    _, result = run(["so 4 apples", "it is 4."], samples=2, adaptive=False, answer="extracted")
    assert result.answer == "4"


@pytest.mark.parametrize(
    ("replies", "winner"),
    [
        (["A is 1", "B is 2", "B: 2", "A: 1"], "A is 1"),  # 2-2: the answer voted for first wins
        (["B is 2", "A is 1", "A: 1", "B: 2"], "B is 2"),
        (["x 3", "y 4", "z 5"], "x 3"),  # 1-1-1
    ],
)
@pytest.mark.parametrize("adaptive", [False, True])
def test_ties_go_to_the_answer_voted_for_first(replies, winner, adaptive):
    _, result = run(replies, samples=len(replies), adaptive=adaptive)
    assert result.answer == winner


def test_tie_rule_is_stable_across_repeats():
    answers = {run(["7", "8", "8", "7"], samples=4, adaptive=False)[1].answer for _ in range(5)}
    assert answers == {"7"}


@pytest.mark.parametrize(("samples", "calls"), [(5, 3), (10, 6), (1, 1), (2, 2), (3, 2)])
def test_adaptive_stops_once_the_leader_cannot_be_overtaken(samples, calls):
    model, result = run(lambda m: "The answer is 42.", samples=samples)
    assert len(model.calls) == calls
    assert result.usage.model_calls == calls
    assert result.stop_reason == ("converged" if calls < samples else "answered")
    final = votes(result)[-1].data
    assert final["counts"] == {"42": calls}
    if calls < samples:
        assert final["stopped_early"] is True
        assert "cannot be overtaken" in final["reason"]
        assert f"stopped early after {calls} of {samples}" in result.detail


def test_without_adaptive_every_sample_is_drawn():
    model, result = run(lambda m: "42", samples=10, adaptive=False)
    assert len(model.calls) == 10
    assert result.stop_reason == "answered"
    assert len(votes(result)) == 1


def test_adaptive_waves_are_the_smallest_that_could_decide():
    # wave 1: 3 of 5 (a majority) -> 2-1; wave 2: 1 more -> 3-1 with 1 left: decided
    model, result = run(["1", "2", "1", "1", "9"], samples=5)
    assert len(model.calls) == 4
    assert [len(v.data["votes"]) for v in votes(result)] == [3, 1]
    assert [v.data["final"] for v in votes(result)] == [False, True]
    assert result.stop_reason == "converged"
    assert result.answer == "1"


def test_split_vote_draws_all_samples():
    model, result = run(["1", "2", "1", "2", "3"], samples=5)
    assert len(model.calls) == 5
    assert result.stop_reason == "answered"
    assert result.answer == "1"  # 2-2-1: first reached


def test_margin_stops_at_the_requested_lead():
    model, result = run(lambda m: "42", samples=10, margin=2)
    assert len(model.calls) == 2
    assert "margin 2" in votes(result)[-1].data["reason"]
    assert result.stop_reason == "converged"


def test_margin_keeps_sampling_until_the_lead_is_reached():
    model, result = run(["1", "2", "1", "1", "1", "1"], samples=10, margin=2)
    # wave 1: 2 (1-1, lead 0) -> wave 2: 2 (3-1, lead 2) -> stop
    assert len(model.calls) == 4
    assert result.answer == "1"


def test_each_sample_has_its_own_seed_and_the_user_token_limit():
    model, result = run(lambda m: "42", samples=4, adaptive=False, seed=10, temperature=0.9)
    assert sorted(c.options.seed for c in model.calls) == [10, 11, 12, 13]
    assert {c.options.temperature for c in model.calls} == {0.9}
    assert {c.options.max_tokens for c in model.calls} == {77}
    steps = [s for s in result.steps if s.kind == "sample"]
    assert [s.data for s in steps] == [{"sample": i, "seed": 10 + i, "temperature": 0.9} for i in range(4)]


def test_samples_use_the_single_prompt():
    model, _ = run(lambda m: "42", samples=1)
    single = ScriptedModel(["42"])
    Engine(single).run(Single(), "How many apples?")
    assert model.calls[0].messages == single.calls[0].messages


# -- greedy anchor ---------------------------------------------------------------


def test_anchor_draws_sample_zero_greedily():
    model, result = run(lambda m: "42", samples=3, adaptive=False, seed=5, temperature=0.8, anchor=True)
    by_seed = {c.options.seed: c.options.temperature for c in model.calls}
    assert by_seed == {5: 0.0, 6: 0.8, 7: 0.8}
    steps = [s for s in result.steps if s.kind == "sample"]
    assert steps[0].data == {"sample": 0, "seed": 5, "temperature": 0.0}
    assert votes(result)[-1].data["votes"][0]["greedy"] is True
    assert "greedy" not in votes(result)[-1].data["votes"][1]


@pytest.mark.parametrize(
    ("replies", "winner"),
    [
        (["greedy 3", "x 4", "y 5", "z 6", "w 7"], "greedy 3"),  # all differ: the greedy answer stands
        (["greedy 3", "x 4", "y 4", "z 3", "w 7"], "greedy 3"),  # 2-2 tie: goes to the greedy answer
        (["greedy 3", "x 4", "y 4", "z 4", "w 7"], "x 4"),  # a real majority overrides it
    ],
)
def test_anchor_keeps_the_greedy_answer_unless_outvoted(replies, winner):
    _, result = run(replies, samples=5, adaptive=False, anchor=True)
    assert result.answer == winner


def test_anchor_needs_a_majority_to_overturn_the_greedy_answer():
    replies = ["greedy 3", "x 4", "y 4", "z 5", "w 7"]
    _, plain = run(replies, samples=5, adaptive=False)
    _, anchored = run(replies, samples=5, adaptive=False, anchor=True)
    assert plain.answer == "x 4"  # a plurality of 2 wins a plain vote
    assert anchored.answer == "greedy 3"  # but 2 of 5 is not a majority
    final = votes(anchored)[-1].data
    assert final["leader"] == "3" and final["counts"] == {"4": 2, "3": 1, "5": 1, "7": 1}
    assert "3: 1 of 5 samples agree" in anchored.detail


@pytest.mark.parametrize(
    ("replies", "calls", "winner"),
    [
        (["g 3", "a 4", "b 5", "c 6", "d 7"], 4, "g 3"),  # after 4 distinct answers no rival can reach 3 of 5
        (["g 3", "a 3", "b 3", "c 6", "d 7"], 3, "g 3"),  # the first wave is half: 3 of 5
        (["g 1", "x 2", "y 2", "z 2"], 4, "x 2"),  # 3 of 5 for 2 is certain after the 4th sample
        (["g 1", "x 2", "y 2", "z 9", "w 2"], 5, "x 2"),  # here the majority needs every sample
    ],
)
def test_anchored_adaptive_stops_once_the_majority_question_is_settled(replies, calls, winner):
    model, result = run(replies + ["unused 0"] * 3, samples=5, anchor=True)
    assert len(model.calls) == calls
    assert result.answer == winner


def test_anchor_without_a_greedy_answer_falls_back_to_plurality():
    _, result = run(["no idea", "x 4", "y 4", "z 5", "w 7"], samples=5, adaptive=False, anchor=True)
    assert result.answer == "x 4"


def test_anchored_adaptive_always_agrees_with_drawing_every_sample():
    import random

    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(1, 8)
        replies = [rng.choice(["1", "2", "3", "none"]) for _ in range(n)]
        _, full = run(list(replies), samples=n, adaptive=False, anchor=True)
        model, early = run(list(replies), samples=n, anchor=True)
        assert early.answer == full.answer, replies
        assert len(model.calls) <= n


def test_anchor_and_margin_do_not_combine():
    with pytest.raises(ConfigError, match="margin does not apply to an anchored vote"):
        Consistency(anchor=True, margin=2)


def test_anchor_with_an_inner_strategy_runs_the_first_child_greedily():
    model = ScriptedModel(lambda m: "7", supports_concurrency=False)
    engine = Engine(model, budget=Budget(max_steps=20))
    engine.run(Consistency(inner=Single(), samples=3, adaptive=False, anchor=True, temperature=0.6), "q?")
    assert [c.options.temperature for c in model.calls] == [0.0, 0.6, 0.6]


# -- extraction ------------------------------------------------------------------


def test_last_number_normalises_numbers():
    assert last_number("costs $1,200.00 in total") == "1200"
    assert last_number("first 3 then 4.50") == "4.5"
    assert last_number("minus -7 degrees") == "-7"
    assert last_number("x=10-5") == "5"
    assert last_number("no digits here") is None
    assert normalize("  **Paris.** ") == "paris"


def test_numbers_written_differently_vote_together():
    _, result = run(["total: 1,200", "1200.0 dollars", "about 1200"], samples=3, adaptive=False)
    assert votes(result)[-1].data["counts"] == {"1200": 3}


def test_regex_extraction_takes_the_last_match_and_its_group():
    extract = regex(r"answer is (\w+)")
    assert extract("the answer is Paris. No wait, the answer is Lyon.") == "lyon"
    assert extract("nothing") is None
    _, result = run(
        ["The answer is Rome.", "the answer is rome", "The answer is Paris"],
        samples=3,
        adaptive=False,
        extract=r"regex:answer is (\w+)",
    )
    assert votes(result)[-1].data["counts"] == {"rome": 2, "paris": 1}


def test_callable_and_whole_answer_extraction():
    _, result = run(["Yes.", "no", "yes"], samples=3, adaptive=False, extract="answer")
    assert votes(result)[-1].data["counts"] == {"yes": 2, "no": 1}
    _, result = run(["aXb", "cXd", "eYf"], samples=3, adaptive=False, extract=lambda t: t[1])
    assert votes(result)[-1].data["counts"] == {"x": 2, "y": 1}


def test_a_failing_callable_extractor_makes_the_sample_abstain():
    def picky(text: str) -> str:
        return text.split(":")[1]

    _, result = run(["a:1", "oops", "b:1"], samples=3, adaptive=False, extract=picky)
    data = votes(result)[-1].data
    assert data["counts"] == {"1": 2}
    assert data["abstained"] == 1


def test_lm_extraction_asks_the_model_per_sample():
    def responder(messages):
        text = messages[-1].content
        if "What is the final answer given in the response?" in text:
            return "Answer: Paris" if "Paris" in text else "NONE"
        return {"0": "I think Paris.", "1": "It must be Paris, France"}.get(str(len(calls)), "no idea")

    calls: list[int] = []

    def counting(messages):
        reply = responder(messages)
        calls.append(1)
        return reply

    model = ScriptedModel(counting, supports_concurrency=False)
    result = Engine(model, budget=Budget(max_steps=20)).run(
        Consistency(samples=2, adaptive=False, extract="lm"), "Capital of France?"
    )
    kinds = [s.kind for s in result.steps]
    assert kinds == ["sample", "sample", "extract", "extract", "vote"]
    assert [s.data["sample"] for s in result.steps if s.kind == "extract"] == [0, 1]
    assert votes(result)[-1].data["counts"] == {"paris": 2}
    assert result.answer == "I think Paris."


def test_unknown_extraction_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown extraction"):
        extractor("first_word")
    with pytest.raises(ConfigError, match="bad extraction pattern"):
        Consistency(extract="regex:(")


def test_samples_without_an_answer_abstain_and_lower_confidence():
    _, result = run(["42", "no idea", "42", "hmm"], samples=4, adaptive=False)
    data = votes(result)[-1].data
    assert data["counts"] == {"42": 2}
    assert data["abstained"] == 2
    assert data["confidence"] == pytest.approx(0.5)


def test_no_extractable_answer_falls_back_to_the_first_sample():
    _, result = run(["no idea", "dunno"], samples=2, adaptive=False)
    assert result.answer == "no idea"
    assert "no answer could be extracted from 2 samples" in result.detail


# -- weighted votes --------------------------------------------------------------


def test_weighted_vote_discounts_truncated_samples():
    cut = [Completion("so far 5", finish_reason="length") for _ in range(3)]
    replies = [cut[0], cut[1], cut[2], "it is 6", "6"]
    _, majority = run(list(replies), samples=5, adaptive=False)
    _, weighted = run(list(replies), samples=5, adaptive=False, vote="weighted")
    assert majority.answer == "so far 5"  # 3 votes to 2
    assert weighted.answer == "it is 6"  # 1.5 to 2.0
    data = votes(weighted)[-1].data
    assert data["weights"] == {"6": 2.0, "5": 1.5}
    assert data["confidence"] == pytest.approx(2.0 / 3.5, abs=1e-4)


def test_weighted_vote_with_a_verifier_score():
    def score(_question: str, answer: str) -> Verdict:
        return Verdict(True, "", 0.9 if "because" in answer else 0.2)

    replies = ["7", "7", "because 4+4 it is 8", "because 2*4 it is 8"]
    _, result = run(replies, samples=4, adaptive=False, vote="weighted", weigh=Check(score))
    assert result.answer == "because 4+4 it is 8"
    assert votes(result)[-1].data["weights"] == {"8": 1.8, "7": 0.4}


def test_bad_settings_are_config_errors():
    for kw, needle in [
        ({"samples": 0}, "samples"),
        ({"temperature": 0}, "temperature"),
        ({"vote": "plurality"}, "unknown vote"),
        ({"margin": 2, "adaptive": False}, "margin"),
        ({"weigh": Check(lambda q, a: True)}, "weighted"),
    ]:
        with pytest.raises(ConfigError, match=needle):
            Consistency(**kw)


# -- budgets ---------------------------------------------------------------------


def test_budget_end_votes_over_the_samples_so_far():
    # adaptive N=10: the first wave (6) fits in 7 steps; after 3-3 the next wave is 3, which does not
    model, result = run(["1", "2", "1", "2", "1", "2", "1"], budget=Budget(max_steps=7), samples=10)
    assert len(model.calls) == 6
    assert result.stop_reason == "max_steps"
    assert result.answer == "1"
    assert "step limit of 7 reached" in result.detail
    assert "3 of 6 samples agree" in result.detail


# -- the vote arithmetic -----------------------------------------------------------


def test_tally_decides_only_when_the_leader_is_safe():
    tally = Tally()
    for i, key in enumerate(["a", "a", "b"]):
        tally.add(i, key, 1.0)
    assert tally.decided(remaining=1, margin=None) is not None  # b could only tie, and a was first
    assert tally.decided(remaining=2, margin=None) is None
    later = Tally()
    for i, key in enumerate(["b", "a", "a"]):
        later.add(i, key, 1.0)
    assert later.decided(remaining=1, margin=None) is None  # b would win a 2-2 tie
    assert next_wave(Tally(), 0, 5, None) == 3
    assert next_wave(Tally(), 0, 10, None) == 6
    assert next_wave(Tally(), 0, 10, 2) == 2


# -- concurrency -----------------------------------------------------------------


def test_a_wave_of_samples_runs_concurrently():
    together = InFlight(barrier=8)  # only passes when all 8 samples are in flight at once
    model = ScriptedModel(together)
    result = Engine(model, budget=Budget(max_steps=None), max_parallel_calls=8).run(
        Consistency(samples=8, adaptive=False), "q"
    )
    assert together.peak == 8
    assert result.answer == "42"
    assert [s.data["sample"] for s in result.steps if s.kind == "sample"] == list(range(8))


@pytest.mark.parametrize(("concurrent", "limit", "expected"), [(True, 3, 3), (False, 8, 1)])
def test_overlap_is_bounded_by_the_limit_and_the_backend(concurrent, limit, expected):
    slow = InFlight()
    model = ScriptedModel(slow, supports_concurrency=concurrent)
    Engine(model, budget=Budget(max_steps=None), max_parallel_calls=limit).run(
        Consistency(samples=6, adaptive=False), "q"
    )
    assert len(model.calls) == 6
    assert slow.peak == expected


def test_vote_data_is_json():
    _, result = run(["1", "2", "1"], samples=3)
    json.dumps(result.to_dict())


def test_gsm8k_benchmark_runs_on_the_scripted_model(capsys, tmp_path):
    out_file = tmp_path / "records.jsonl"
    data = tmp_path / "gsm8k.jsonl"  # two GSM8K-shaped problems, so the test needs no ../shared
    data.write_text(
        '{"question": "Tom has 3 apples and buys 4 more. How many apples?", "answer": "3+4=7\\n#### 7"}\n'
        '{"question": "A box holds 12 eggs. How many eggs in 2 boxes?", "answer": "12*2=24\\n#### 24"}\n'
    )
    args = ["--model", "scripted", "--n", "2", "--out", str(out_file), "--data", str(data)]
    assert _bench("gsm8k_consistency").main(args) == 0
    out = capsys.readouterr().out
    assert "(2 of 2 asked)" in out
    assert "| consistency N=10 adaptive | 2 | 0.0% (0/2) | 6.0 |" in out
    assert len(out_file.read_text().splitlines()) == 2
