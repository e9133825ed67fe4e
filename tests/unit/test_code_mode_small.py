"""Code mode for small code models: the reply grammar, the helpers, the answer conventions, loops, the last call."""

from __future__ import annotations

import pytest

from ponder import ScriptedModel, prompts
from ponder.grammar.constraint import Constraint
from ponder.models.request_fields import extra_fields
from ponder.models.servers import ServerInfo
from ponder.spec import StrategySpec
from ponder.spec.build import build_strategy
from ponder.strategies.code_guard import CODE_GRAMMAR, LoopGuard
from ponder.strategies.code_prompt import confirm_note, searched, sub_chars
from ponder.strategies.entry import BuildContext
from ponder.strategies.recursive import Recursive
from ponder.tasks.long_context import LABELS


def test_servers_get_the_grammar_where_they_take_one_and_nothing_where_they_do_not() -> None:
    llama = ServerInfo(kind="llamacpp", constraint="grammar")
    assert extra_fields(llama, CODE_GRAMMAR, None, False).fields == {"grammar": CODE_GRAMMAR}
    vllm = ServerInfo(kind="vllm", constraint="structured_outputs")
    assert extra_fields(vllm, CODE_GRAMMAR, None, False).fields == {"structured_outputs": {"grammar": CODE_GRAMMAR}}
    openai = ServerInfo(kind="openai", constraint="json_schema")
    assert Constraint.parse(CODE_GRAMMAR).schema is None  # no JSON-schema form: the reply stays plain text
    assert extra_fields(openai, CODE_GRAMMAR, None, False).fields == {}


def test_the_sub_reading_size_comes_from_the_sub_models_window() -> None:
    sub = ScriptedModel(["x"], context_window=4096)
    spec = StrategySpec.parse({"strategy": "recursive", "mode": "code"})
    strategy = build_strategy(spec, BuildContext(models={"root": ScriptedModel(["x"]), "sub": sub}, context_text="c"))
    assert isinstance(strategy, Recursive) and strategy.sub_chars == sub_chars(4096) == (4096 - 768) * 3
    assert sub_chars(512) == 1000


def test_a_part_of_an_answer_counts_as_searched_only_as_a_whole_word() -> None:
    code = 'print(grep("ADAM"))\nprint(grep("vault code", window=40))'
    assert searched("adam", code) and searched("Vault Code", code)  # grep ignores case: so does the check
    assert not searched("ADA", code) and not searched("code 7", code)  # inside a longer word or phrase: not searched
    assert searched("a.b", "grep('a.b')") and not searched("a.b", "grep('axb')")  # the part is text, not a pattern
    note = confirm_note("ADA, ADAM", "Who?", [], code)
    assert "You have not searched for 'ADA' yet" in note and "'ADAM'" not in note


def test_the_worked_examples_share_no_word_with_the_shipped_tasks() -> None:
    # a small model copies its example: an example counting "urgent" made it write the example's search and
    # count when a generated task asked for the label urgent (counting 256k, seed 110)
    examples = prompts.load("recursive/code_system").split("examples (other texts")[1].lower()
    for word in (*LABELS, "special magic", "var "):
        assert word not in examples


def test_loop_guard_counts_repeats() -> None:
    guard = LoopGuard(limit=2)
    assert guard.code(1, "x", "out") is None and guard.code(2, "x ", "other") is None
    assert guard.code(3, "x", "out") == 1 and not guard.over
    assert guard.reply(4, "hi") is None and guard.reply(5, " hi ") == 4 and guard.over


@pytest.mark.parametrize("name", ["code_system", "code_task", "code_output", "code_repeat", "code_final"])
def test_prompts_are_data(name: str) -> None:
    assert prompts.load(f"recursive/{name}")
