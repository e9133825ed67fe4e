"""verify and the verifiers: accept, revise with feedback, give up after max_rounds; judge, grounded, code checks."""

from __future__ import annotations

import pytest

from ponder import Budget, ConfigError, Engine, Outcome, ScriptedModel
from ponder.prompts import load, render
from ponder.requests import Generate
from ponder.strategies import Verify
from ponder.types import user
from ponder.verifiers import (
    Agreement,
    Check,
    CodeCheck,
    Grounded,
    Judge,
    Verdict,
    close_verifier,
    contains,
    matches,
    parse_judgement,
    parse_verifier,
)
from verify_helpers import run, verdicts


def outcome_of(verifier, answer, question="q"):
    """Drive a verifier that makes no requests."""
    gen = verifier.check(question, answer)
    with pytest.raises(StopIteration) as done:
        next(gen)
    return done.value.value


# -- the loop ----------------------------------------------------------------------


def test_accepts_a_good_first_answer():
    model, result = run(["It is Paris."], contains("Paris"))
    assert result.stop_reason == "answered"
    assert result.answer == "It is Paris."
    assert len(model.calls) == 1
    [verdict] = verdicts(result)
    assert verdict.data == {
        "round": 1,
        "verifier": "contains:Paris",
        "ok": True,
        "feedback": "the answer contains 'Paris'",
        "score": 1.0,
    }
    assert "accepted by contains:Paris in round 1" in result.detail


def test_revises_with_the_feedback_then_accepts():
    model, result = run(["It is Lyon.", "It is Paris."], contains("Paris"))
    assert result.answer == "It is Paris."
    assert result.stop_reason == "answered"
    assert [s.kind for s in result.steps] == ["draft", "verdict", "revision", "verdict"]
    revision_prompt = model.calls[1].messages
    assert revision_prompt[: len(model.calls[0].messages)] == model.calls[0].messages  # prefix-stable
    assert revision_prompt[-2].content == "It is Lyon."
    assert revision_prompt[-1].content == render("verify/revise", feedback="the answer must contain 'Paris'")
    assert [v.data["ok"] for v in verdicts(result)] == [False, True]


def test_a_repeated_answer_is_not_checked_again_and_the_next_revision_is_sampled():
    checked = []

    def check(question, answer):
        checked.append(answer)
        return Verdict(answer == "right", f"{answer} is wrong")

    model, result = run(["wrong", " wrong\n", "right"], Check(check), max_rounds=3)
    assert result.answer == "right" and result.stop_reason == "answered"
    assert checked == ["wrong", "right"]  # the repeat was not run through the check
    first, repeat, last = verdicts(result)
    assert repeat.data["repeat"] == 1 and not repeat.data["ok"] and "round 1 again" in repeat.text
    assert "repeat" not in first.data and "repeat" not in last.data
    assert model.calls[2].messages[-1].content == render("verify/repeat", feedback="wrong is wrong")
    assert model.calls[2].options.temperature == 0.7 and model.calls[2].options.seed == 3
    assert model.calls[1].options.temperature == 0  # a plain revision stays greedy
    with pytest.raises(ConfigError, match="repeat temperature"):
        Verify(verifier=Check(check), repeat_temperature=3)


def test_fresh_rounds_answer_the_question_again_sampled_and_seeded_by_round():
    checked = []

    def check(question, answer):
        checked.append(answer)
        return Verdict(answer == "right", f"{answer} fails example 2")

    model, result = run(["wrong", "wrong", "right"], Check(check), max_rounds=4, revise="fresh")
    assert result.answer == "right" and result.stop_reason == "answered"
    assert checked == ["wrong", "right"]  # round 2 repeated round 1: not checked again
    assert [s.kind for s in result.steps] == ["draft", "verdict", "sample", "verdict", "sample", "verdict"]
    first = model.calls[0]
    for round_, call in enumerate(model.calls[1:], start=2):
        assert call.messages == first.messages  # the question alone: no rejected answer, no feedback
        assert call.options.temperature == 0.8 and call.options.seed == round_
    assert first.options.temperature == 0


def test_fresh_rounds_keep_the_best_scored_answer_and_take_no_inner_strategy():
    scores = {"a": 0.2, "b": 0.7, "c": 0.4}
    check = Check(lambda q, a: Verdict(False, f"score of {a}", scores[a]))
    model, result = run(["a", "b", "c"], check, max_rounds=3, revise="fresh", fresh_temperature=0.5)
    assert result.answer == "b" and result.stop_reason == "rounds"
    assert [c.options.temperature for c in model.calls] == [0, 0.5, 0.5]
    with pytest.raises(ConfigError, match="takes no --inner"):
        Verify(inner=Verify(), revise="fresh")
    with pytest.raises(ConfigError, match="revises with one of feedback, fresh"):
        Verify(revise="again")
    with pytest.raises(ConfigError, match="fresh temperature"):
        Verify(revise="fresh", fresh_temperature=0)


def test_gives_up_after_max_rounds_keeping_the_best_scored_answer():
    scores = {"a": 0.2, "b": 0.7, "c": 0.4}
    check = Check(lambda q, a: Verdict(False, f"score of {a}", scores[a]))
    model, result = run(["a", "b", "c", "d"], check, max_rounds=3)
    assert len(model.calls) == 3
    assert result.stop_reason == "rounds"
    assert result.answer == "b"
    assert "no answer passed check in 3 rounds" in result.detail
    assert "kept round 2" in result.detail
    assert [v.data["round"] for v in verdicts(result)] == [1, 2, 3]


def test_among_equal_scores_the_latest_answer_is_kept():
    _model, result = run(["a", "b"], Check(lambda q, a: False), max_rounds=2)
    assert result.answer == "b"


def test_budget_end_returns_the_latest_answer_unverified():
    _model, result = run(["a", "CORRECT: ok"], Judge(), budget=Budget(max_steps=1))
    assert result.answer == "a"
    assert result.stop_reason == "max_steps"
    assert "unverified" in result.detail


def test_an_empty_answer_is_rejected_without_asking_the_verifier():
    seen = []
    check = Check(lambda q, a: seen.append(a) or True)
    _, result = run(["", "Paris"], check)
    assert seen == ["Paris"]
    assert verdicts(result)[0].data["feedback"] == "no answer was given"


def test_inner_strategy_is_retried_with_the_feedback():
    class Echo:
        name = "echo"

        def run(self, question):
            reply = yield Generate.of([user(question)], kind="inner")
            return Outcome(reply.text)

    model = ScriptedModel(["Lyon", "Paris"], supports_concurrency=False)
    result = Engine(model).run(Verify(inner=Echo(), verifier=contains("Paris")), "Capital of France?")
    assert result.answer == "Paris"
    asked = model.calls[1].messages[-1].content
    assert asked == render(
        "verify/retry", question="Capital of France?", answer="Lyon", feedback="the answer must contain 'Paris'"
    )
    assert [s.depth for s in result.steps] == [1, 0, 1, 0]


def test_max_rounds_must_be_positive():
    with pytest.raises(ConfigError):
        Verify(max_rounds=0)


# -- programmatic checks -------------------------------------------------------------


def test_check_accepts_bool_tuple_and_verdict():
    assert outcome_of(Check(lambda q, a: True), "x").ok
    assert outcome_of(Check(lambda q, a: (False, "too short")), "x") == Verdict(False, "too short")
    assert outcome_of(Check(lambda q, a: Verdict(True, "fine", 0.8)), "x").value == 0.8
    assert outcome_of(Check(lambda q, a: False), "x").feedback == "the answer did not pass the check"


def test_a_check_that_raises_rejects_with_the_error_as_feedback():
    verdict = outcome_of(Check(lambda q, a: int(a) > 0), "ten")
    assert not verdict.ok
    assert verdict.feedback.startswith("the check raised ValueError")


def test_contains_and_regex():
    assert outcome_of(contains("paris"), "PARIS it is").ok
    assert not outcome_of(contains("Paris", case_sensitive=True), "paris").ok
    assert outcome_of(matches(r"\b\d{4}\b"), "in 1989").ok
    assert not outcome_of(matches(r"^\d+$"), "about 12").ok
    with pytest.raises(ConfigError):
        matches("(")


# -- the LM judge ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "ok", "feedback"),
    [
        ("CORRECT: Paris is the capital.", True, "Paris is the capital."),
        ("INCORRECT: Lyon is not the capital.", False, "Lyon is not the capital."),
        ("The answer is wrong - it is Paris", False, "it is Paris"),
        ("correct", True, "correct"),
        ("I am not sure", False, "the judge gave no verdict: I am not sure"),
    ],
)
def test_parse_judgement(reply, ok, feedback):
    verdict = parse_judgement(reply)
    assert verdict.ok is ok
    assert verdict.feedback == feedback


def test_judge_asks_with_its_prompt_and_grammar_then_revision_is_judged_again():
    model, result = run(["Lyon", "INCORRECT: the capital is Paris", "Paris", "CORRECT: yes"], Judge())
    assert result.answer == "Paris"
    assert [s.kind for s in result.steps] == ["draft", "judge", "verdict", "revision", "judge", "verdict"]
    judge_call = model.calls[1]
    assert judge_call.messages[-1].content == render("verify/judge", question="Capital of France?", answer="Lyon")
    assert judge_call.options.grammar is not None and "INCORRECT" in judge_call.options.grammar
    assert "\n" in judge_call.options.stop
    assert model.calls[2].messages[-1].content == render("verify/revise", feedback="the capital is Paris")
    assert load("verify/judge").count("$answer") == 1


# -- grounded checks ---------------------------------------------------------------------

SOURCE = 'Revenue grew to $1,200 million in 2023, up 15%. The CEO said "we are just getting started".'


def test_grounded_numbers_must_occur_in_the_source():
    grounded = Grounded(SOURCE)
    assert outcome_of(grounded, "Revenue was 1200 million in 2023.").ok
    verdict = outcome_of(grounded, "Revenue was 1300 million in 2023, up 15%.")
    assert not verdict.ok
    assert verdict.feedback == "the number 1300 does not occur in the source"
    assert verdict.value == pytest.approx(2 / 3)


def test_grounded_numbers_from_the_question_are_allowed():
    assert outcome_of(Grounded(SOURCE), "In 2023 and 2024: 1200", question="Compare 2023 with 2024").ok


def test_grounded_quotes_must_occur_in_the_source():
    grounded = Grounded(SOURCE, numbers=False)
    assert outcome_of(grounded, 'The CEO said "We are just   getting started".').ok
    verdict = outcome_of(grounded, "He said “we are done”.")
    assert not verdict.ok
    assert 'the quote "we are done" does not occur' in verdict.feedback
    assert outcome_of(grounded, "No claims here.").feedback == "no numbers or quotes to check"


def test_grounded_from_file(tmp_path):
    path = tmp_path / "source.txt"
    path.write_text(SOURCE)
    assert outcome_of(Grounded.from_file(path), "1,200").ok
    with pytest.raises(ConfigError, match="cannot read the source file"):
        Grounded.from_file(tmp_path / "missing.txt")


def test_code_check_without_code_and_with_a_wrong_tool(python):
    from ponder.tools import calculator_tool

    gen = CodeCheck(python).check("q", "   ")
    with pytest.raises(StopIteration) as done:
        next(gen)
    assert done.value.value.feedback == "the answer contains no code"
    with pytest.raises(ConfigError, match="python tool"):
        CodeCheck(calculator_tool())


# -- specs -------------------------------------------------------------------------------


def test_parse_verifier_specs(tmp_path):
    assert isinstance(parse_verifier("judge"), Judge)
    assert parse_verifier("contains:Paris").name == "contains:Paris"
    assert parse_verifier("regex:^\\d+$").name == "regex:^\\d+$"
    agree = parse_verifier("agree:5:0.8", extract="answer")
    assert isinstance(agree, Agreement)
    assert (agree.samples, agree.threshold, agree.extract) == (5, 0.8, "answer")
    source = tmp_path / "s.txt"
    source.write_text("x")
    assert isinstance(parse_verifier(f"grounded:{source}"), Grounded)
    for bad in ["nosuch", "contains:", "judge:x", "agree:x", "agree:1:2:3", "tests:"]:
        with pytest.raises(ConfigError):
            parse_verifier(bad)


def test_parse_verifier_code_checks_own_their_sandbox(tmp_path):
    made = []

    class FakeSandbox:
        closed = False

        def run(self, code):  # pragma: no cover - not run here
            raise AssertionError

        def close(self):
            self.closed = True

    def factory():
        made.append(FakeSandbox())
        return made[-1]

    tests = tmp_path / "t.py"
    tests.write_text("assert f() == 1\n")
    check = parse_verifier(f"tests:{tests}", sandbox_factory=factory)
    assert isinstance(check, CodeCheck)
    assert check.tests == "assert f() == 1\n"
    close_verifier(check)
    assert made[0].closed
    with pytest.raises(ConfigError, match="cannot read the tests file"):
        parse_verifier(f"tests:{tmp_path / 'none.py'}", sandbox_factory=factory)
    assert made[1].closed  # the sandbox of a check that could not be built is closed too


def test_prompts_exist():
    for name, var in [
        ("verify/judge", "$answer"),
        ("verify/revise", "$feedback"),
        ("verify/retry", "$feedback"),
        ("consistency/extract", "$response"),
    ]:
        assert var in load(name)


def test_a_failed_check_gives_back_the_error_not_the_echoed_program():
    """The sandbox's traceback starts with the frame that runs the built program (all of it, echoed): the
    feedback drops it and keeps the end, where the failing example is named."""
    from ponder.verifiers.code import failure_text

    echo = "    exec(compile('def f(x):\\n" + "    # padding\\n" * 300 + "', '<answer>', 'exec'))"
    observation = (
        "[stderr]\nTraceback (most recent call last):\n"
        f'  File "<cell 3>", line 1, in <module>\n{echo}\n'
        '  File "<answer>", line 29, in <module>\n'
        "AssertionError: 1 of 2 examples fail: f(2) returned 3; the question says 4\n"
        "Error: AssertionError: 1 of 2 examples fail: f(2) returned 3; the question says 4"
    )
    text = failure_text(observation)
    assert "<cell 3>" not in text and "padding" not in text and 'File "<answer>", line 29' in text
    assert text.endswith("f(2) returned 3; the question says 4")
    long = "[stderr]\n" + "x = 1\n" * 1000 + "ValueError: the last line"
    cut = failure_text(long)
    assert len(cut) <= 1500 and cut.startswith("[stderr]") and cut.endswith("ValueError: the last line")
