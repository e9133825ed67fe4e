"""One GBNF description -> the forms servers take: choices, an anchored regex, a JSON schema; decoding."""

from __future__ import annotations

import re

import pytest

from ponder.grammar.constraint import Constraint
from ponder.strategies.react_format import grammar
from ponder.strategies.recursive_count import YES_NO_GRAMMAR
from ponder.tasks.base import VALUE_GRAMMAR, vote_grammar
from ponder.tools.calculator import INPUT_GRAMMAR
from ponder.verifiers.judge import GRAMMAR as JUDGE_GRAMMAR


def test_a_list_of_literals_is_a_choice_list_and_an_enum() -> None:
    c = Constraint.parse(YES_NO_GRAMMAR)
    assert c.choices == ("yes", "no", "Yes", "No")
    assert c.regex == "^(yes|no|Yes|No)$"
    assert c.schema is not None
    assert c.schema["properties"]["answer"] == {"type": "string", "enum": ["yes", "no", "Yes", "No"]}
    assert c.schema["required"] == ["answer"] and c.schema["additionalProperties"] is False
    assert Constraint.parse(vote_grammar(3)).choices == ("1", "2", "3")
    assert Constraint.parse(VALUE_GRAMMAR).choices == ("sure", "likely", "impossible")


def test_the_react_step_grammar_becomes_a_regex_that_accepts_exactly_its_steps() -> None:
    c = Constraint.parse(grammar([("calculator", INPUT_GRAMMAR, False), ("python", None, True)]))
    assert c.choices is None and c.regex is not None
    pattern = re.compile(c.regex)
    assert pattern.match("Action: calculator\nAction Input: 696 - 135 + 787")
    assert pattern.match("Action: python\nAction Input: print(1)\nprint(2)")
    assert pattern.match("Final Answer: 1348")
    for bad in ("Action: 696 - 135 + 787", "Action: calculator", "Action: calculator\nAction Input: two", "Hi"):
        assert not pattern.match(bad), bad
    assert c.schema is not None and c.schema["properties"]["answer"]["pattern"] == c.regex


def test_judge_grammar_keeps_its_structure() -> None:
    c = Constraint.parse(JUDGE_GRAMMAR)
    assert c.regex is not None
    assert re.match(c.regex, "INCORRECT: the sum is 7") and not re.match(c.regex, "MAYBE: hm")


def test_regex_specials_in_literals_are_escaped() -> None:
    c = Constraint.parse('root ::= "(a+b)*c? [x]" d\nd ::= [0-9]{2,4}')
    assert c.regex is not None
    assert re.match(c.regex, "(a+b)*c? [x]123") and not re.match(c.regex, "aabc x1")


def test_a_recursive_grammar_keeps_only_its_gbnf() -> None:
    c = Constraint.parse('root ::= "(" root ")" | "x"')
    assert c.regex is None and c.choices is None and c.schema is None
    assert c.gbnf.startswith("root ::=")


def test_a_grammar_outside_the_subset_is_still_sent_as_gbnf() -> None:
    c = Constraint.parse("root ::= [a-z]+ !!! nonsense")
    assert (c.regex, c.choices, c.schema) == (None, None, None)


def test_a_grammar_without_root_is_a_config_error() -> None:
    from ponder import ConfigError

    with pytest.raises(ConfigError, match="root rule"):
        Constraint.parse('answer ::= "x"')


def test_decode_reads_the_answer_of_a_json_reply_and_keeps_other_text() -> None:
    c = Constraint.parse(YES_NO_GRAMMAR)
    assert c.decode('{"answer": "no"}') == "no"
    assert c.decode(' {"answer": "Action: calculator\\nAction Input: 1+1"} ') == "Action: calculator\nAction Input: 1+1"
    assert c.decode("yes") == "yes"
    assert c.decode('{"answer": ') == '{"answer": '
    assert c.decode('{"other": 1}') == '{"other": 1}'


def test_a_choice_list_is_one_description_too() -> None:
    c = Constraint.choice(["sure", 'say "no"', "two\nlines"])
    assert c.choices == ("sure", 'say "no"', "two\nlines")
    assert c.gbnf == 'root ::= "sure" | "say \\"no\\"" | "two\\nlines"'
    assert c.regex is not None and re.match(c.regex, "two\nlines") and not re.match(c.regex, "say no")
