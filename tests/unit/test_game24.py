"""Game of 24: the exact step and expression checks, puzzle parsing, and the task's states."""

from __future__ import annotations

from fractions import Fraction

import pytest

from layout import BENCHMARKS
from ponder.tasks import Game24, check_expression, check_step, extract_expression, get_task, parse_puzzle, solve
from ponder.tasks.game24_math import numbers_text


def nums(*values: int | str) -> list[Fraction]:
    return [Fraction(v) for v in values]


# -- steps ----------------------------------------------------------------


def test_accepts_a_correct_step_and_normalises_it():
    check = check_step(nums(4, 9, 10, 13), "13 - 9 = 4 (left: 4 4 10)")
    assert check.ok, check.reason
    assert check.step == "13 - 9 = 4 (left: 4 4 10)"
    assert check.left == (4, 4, 10)


def test_accepts_list_markers_and_unicode_operators():
    assert check_step(nums(4, 9, 10, 13), "2. 4 × 9 = 36 (left: 10 13 36)").ok
    assert check_step(nums(4, 6), "- 4 * 6 = 24").ok


def test_rejects_wrong_arithmetic():
    check = check_step(nums(4, 9, 10, 13), "10 + 13 = 22 (left: 4 9 22)")
    assert not check.ok
    assert check.reason == "10 + 13 is 23, not 22"


def test_rejects_a_wrong_left_list():
    check = check_step(nums(4, 9, 10, 13), "10 + 13 = 23 (left: 4 23)")
    assert not check.ok
    assert "left are 4 9 23" in check.reason


def test_rejects_a_number_that_is_not_available():
    check = check_step(nums(4, 9, 10, 13), "11 + 13 = 24 (left: 4 9 10 24)")
    assert not check.ok
    assert check.reason.startswith("11 is not available")


def test_rejects_reusing_a_number():
    check = check_step(nums(4, 6, 9, 10), "6 * 6 = 36")
    assert not check.ok
    assert check.reason.startswith("6 is not available")
    assert check_step(nums(6, 6, 9, 10), "6 * 6 = 36").ok


def test_rejects_division_by_zero():
    check = check_step(nums(0, 5, 8), "8 / 0 = 0", compute=True)
    assert not check.ok
    assert check.reason == "division by zero"


def test_fractional_intermediate_results_are_exact():
    check = check_step(nums(3, 3, 8, 8), "8 / 3 = 8/3 (left: 3 8 8/3)")
    assert check.ok, check.reason
    second = check_step(check.left, "3 - 8/3 = 1/3 (left: 1/3 8)")
    assert second.ok, second.reason
    third = check_step(second.left, "8 / 1/3 = 24 (left: 24)")
    assert third.ok and third.left == (24,)


def test_program_mode_computes_the_result_from_a_op_b():
    check = check_step(nums(4, 9, 10, 13), "10 - 4", compute=True)
    assert check.ok and check.step == "10 - 4 = 6 (left: 6 9 13)"
    # a wrong result written by the model is ignored in program mode, not checked
    assert check_step(nums(4, 9, 10, 13), "10 - 4 = 7", compute=True).step == "10 - 4 = 6 (left: 6 9 13)"


def test_model_mode_needs_a_result():
    check = check_step(nums(4, 9, 10, 13), "10 - 4")
    assert not check.ok and "no result" in check.reason


def test_rejects_prose():
    assert not check_step(nums(4, 9), "I think we should add them").ok


# -- final expressions ------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "numbers"),
    [
        ("(13 - 9) * (10 - 4)", [4, 9, 10, 13]),
        ("8 / (3 - 8 / 3)", [3, 3, 8, 8]),
        ("(10 - 4) × (13 - 9)", [4, 9, 10, 13]),
        ("1 * 1 * 4 * 6", [1, 1, 4, 6]),
    ],
)
def test_accepts_solutions(expression, numbers):
    check = check_expression(expression, numbers)
    assert check.ok, check.reason
    assert check.value == 24


@pytest.mark.parametrize(
    ("expression", "numbers", "reason"),
    [
        ("4 * 6", [1, 1, 4, 6], "uses 4 6, must use 1 1 4 6 exactly once each"),
        ("4 * 6 * 1 * 1 * 1", [1, 1, 4, 6], "must use 1 1 4 6"),
        ("(4 + 4) * 3 * 1", [1, 3, 4, 6], "must use"),
        ("13 + 9 + 10 - 4", [4, 9, 10, 13], "equals 28, not 24"),
        ("(4 + 6) / (1 - 1)", [1, 1, 4, 6], "division by zero"),
        ("-(4 - 6) * 12", [4, 6, 12], "not allowed"),
        ("2 ** 3 * 3", [2, 3, 3], "Pow is not allowed"),
        ("__import__('os').system('true')", [1], "not allowed"),
        ("2.5 * 9.6", [2, 9], "not allowed"),
        ("(4 + ", [4], "not an arithmetic expression"),
    ],
)
def test_rejects_non_solutions(expression, numbers, reason):
    check = check_expression(expression, numbers)
    assert not check.ok
    assert reason in check.reason


def test_extracts_the_expression_from_an_answer():
    assert extract_expression("steps...\nAnswer: (6 - 4) * (4 + 8) = 24") == "(6 - 4) * (4 + 8)"
    assert extract_expression("answer: 4 × 6 × 1 × 1") == "4 × 6 × 1 × 1"
    assert extract_expression("I cannot do this.") is None


# -- puzzles ---------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "Use 4 9 10 13 to make 24",
        "4 9 10 13",
        "Game of 24: 4, 9, 10, 13",
        "How do I get 24 from 4 9 10 13?",
    ],
)
def test_parses_puzzles(question):
    assert parse_puzzle(question) == (4, 9, 10, 13)


@pytest.mark.parametrize(
    "question",
    ["Why is the sky blue?", "I have 24 apples and 3 friends", "What is 4 + 9 + 10 + 13?", "Make 24 from 1 2"],
)
def test_ignores_other_questions(question):
    assert parse_puzzle(question) is None


def test_auto_task_detects_puzzles():
    assert get_task("auto", "Use 4 9 10 13 to make 24").name == "game24"
    assert get_task("auto", "Why is the sky blue?").name == "generic"


def test_solver():
    steps = solve([4, 9, 10, 13])
    assert steps is not None and steps[-1].endswith("= 24")
    assert solve([1, 1, 1, 1]) is None


# -- task states -------------------------------------------------------------


def test_state_builds_the_expression_from_the_steps():
    task = Game24()
    state = task.root("Use 3 3 8 8 to make 24")
    for line in ["8 / 3", "3 - 8/3", "8 / 1/3"]:
        (state,) = task.expand(state, line, 8)
    assert task.is_final(state)
    assert task.solution(state) == "8 / (3 - (8 / 3))"
    assert check_expression(task.solution(state), [3, 3, 8, 8]).ok
    assert state.steps[-1] == "8 / 1/3 = 24 (left: 24)"


def test_final_state_that_misses_24_is_dead():
    task = Game24()
    state = task.root("1 1 4 6")
    for line in ["1 + 1", "2 + 4", "6 + 6"]:
        (state,) = task.expand(state, line, 8)
    assert task.solution(state) is None
    assert task.dead(state) == "ends at 12, not 24"


def test_expand_rejects_bad_lines_and_respects_the_limit():
    task = Game24(arithmetic="model")
    state = task.root("4 9 10 13")
    out = task.expand(state, "10 - 4 = 6 (left: 6 9 13)\n10 + 13 = 22 (left: 4 9 22)\n4 * 9 = 36\n9 + 9 = 18", 3)
    assert len(out) == 3
    assert numbers_text(out[0].numbers) == "6 9 13"
    assert out[1].reason == "10 + 13 is 23, not 22"
    assert numbers_text(out[2].numbers) == "10 13 36"


def test_root_refuses_a_question_that_is_not_a_puzzle():
    from ponder.errors import ConfigError

    with pytest.raises(ConfigError, match="not a Game of 24 puzzle"):
        Game24().root("Why is the sky blue?")


# -- the benchmark script still runs (shape only, scripted model) -------------


def test_benchmark_prints_its_table(tmp_path, capsys):
    import importlib.util
    import sys

    from ponder import ScriptedModel

    path = BENCHMARKS / "game24.py"
    spec = importlib.util.spec_from_file_location("bench_game24", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    spec.loader.exec_module(bench)

    data = tmp_path / "24.csv"
    data.write_text(
        "Rank,Puzzles,AMT (s),Solved rate,1-sigma Mean (s),1-sigma STD (s)\n1,4 9 10 13,1,1,1,1\n2,1 1 1 1,1,1,1,1\n"
    )
    steps = {"4 9 10 13": "10 - 4\n13 - 9", "6 9 13": "13 - 9", "4 6": "4 * 6", "4 10 10": "10 - 4", "1 1 1 1": "1 + 1"}

    def reply(messages) -> str:
        head, last = messages[0].content, messages[-1].content
        if "List possible next steps" in head:
            return steps.get(last.removeprefix("Numbers: "), "")
        if "sure, likely or impossible" in head:
            return "likely"
        return "Answer: (10 - 4) * (13 - 9) = 24"

    assert bench.main(["--data", str(data), "--start", "0", "--end", "2"], model=ScriptedModel(reply)) == 0
    out = capsys.readouterr().out
    rows = {
        line.split("|")[1].strip(): line.split("|")[2].strip() for line in out.splitlines() if line.startswith("| ")
    }
    assert rows["IO (few-shot)"] == "1/2"
    assert rows["CoT-SC"] == "1/2"
    assert rows["tree, model computes steps"] == "0/2"  # "10 - 4" without "= 6" fails the step check
    assert rows["tree, model computes results, program tracks numbers left"] == "0/2"
    assert rows["tree, program computes steps"] == "1/2"
    assert rows["tree, program computes + solver as evaluator (ceiling, not a model result)"] == "1/2"
    assert "ranks 1-2" in out
    rejected = {
        line.split("|")[1].strip(): line.split("|")[6].strip() for line in out.splitlines() if line.startswith("| ")
    }
    assert (
        rejected["tree, model computes steps"] == "3/3 (100%)"
    )  # both thoughts of the first puzzle, one of the second
    assert rejected["IO (few-shot)"] == "–"


def test_result_mode_checks_the_result_but_recomputes_what_is_left():
    check = check_step(nums(4, 5, 6, 10), "10 - 4 = 6 (left: 6 5)", check_left=False)
    assert check.ok and check.step == "10 - 4 = 6 (left: 5 6 6)"
    task = get_task("game24-result")
    state = task.root("4 5 6 10")
    good, bad = task.expand(state, "10 - 4 = 6 (left: 6 5)\n10 * 6 = 16 (left: 10 16)", 8)
    assert numbers_text(good.numbers) == "5 6 6"
    assert bad.reason == "10 * 6 is 60, not 16"
    strict = get_task("game24-model").expand(state, "10 - 4 = 6 (left: 6 5)", 8)
    assert strict[0].reason == "the numbers left are 5 6 6, not 6 5"
