"""The allowlist of ``ponder serve`` as a function: every declaration is client or operator, and
:func:`~ponder.spec.client.client_spec` builds a client's spec only from client-safe ones."""

from __future__ import annotations

import dataclasses

import pytest

from ponder.access import CLIENT, OPERATOR
from ponder.extract import ACCESS as EXTRACT_ACCESS
from ponder.grammar.check import GrammarError, check_grammar
from ponder.guards.patterns import PatternTimeoutError, user_pattern
from ponder.spec import BudgetSpec, MemorySpec, RunSpec, access
from ponder.spec.client import ClientSpecError, OperatorPolicy, client_spec
from ponder.strategies import entries
from ponder.types import GenerationOptions
from ponder.verifiers.specs import ACCESS as VERIFIER_ACCESS
from ponder.verifiers.specs import KNOWN

DECLARED = (CLIENT, OPERATOR)


def test_every_registered_option_and_slot_declares_who_may_set_it():
    undeclared = [
        f"{entry.name}.{decl.name}"
        for entry in entries().values()
        for decl in (*entry.options, *entry.slots)
        if decl.access not in DECLARED
    ]
    assert undeclared == []


def test_every_client_count_has_a_client_bound():
    unbounded = [
        f"{entry.name}.{option.name}"
        for entry in entries().values()
        for option in entry.options
        if option.access == CLIENT and option.type is int and option.name != "seed" and option.client_max is None
    ]
    assert unbounded == []


@pytest.mark.parametrize(
    ("table", "kind"),
    [
        (access.RUN, RunSpec),
        (access.BUDGET, BudgetSpec),
        (access.OPTIONS, GenerationOptions),
        (access.MEMORY, MemorySpec),
    ],
)
def test_every_field_of_the_run_spec_declares_who_may_set_it(table, kind):
    fields = {f.name for f in dataclasses.fields(kind)}
    assert set(table) == fields and set(table.values()) <= set(DECLARED)


def test_every_verifier_and_extraction_kind_declares_who_may_choose_it():
    kinds = {item.split(":")[0].split("[")[0] for item in KNOWN.split(", ")}
    assert kinds == set(VERIFIER_ACCESS) and set(VERIFIER_ACCESS.values()) <= set(DECLARED)
    assert set(EXTRACT_ACCESS) == {"last_number", "answer", "lm", "regex"}


def policy(**kwargs) -> OperatorPolicy:
    return OperatorPolicy(base=RunSpec(models={"root": "scripted"}, record=False), **kwargs)


def test_a_client_spec_starts_from_the_operators():
    spec = client_spec({"strategy": "consistency", "samples": 4, "question": "q?"}, policy())
    assert spec.strategy.options == {"samples": 4} and spec.record is False and spec.model().model == "scripted"
    assert spec.budget.max_model_calls == 512  # the operator's limit, though the client set none


@pytest.mark.parametrize(
    ("partial", "field"),
    [
        ({"strategy": {"strategy": "verify", "inner": {"strategy": "recursive", "context_path": "/etc"}}},
         "strategy.inner.context_path"),
        ({"strategy": "recursive", "rlm_concurrency": 100}, "strategy.rlm_concurrency"),
        ({"strategy": "verify", "verifier": "python"}, "strategy.verifier"),
        ({"strategy": "recursive", "mode": "code"}, "strategy.mode"),
        ({"trace": "/tmp/t"}, "trace"),
        ({"models": {"root": "gguf:/x"}}, "models.root"),
        ({"strategy": "consistency", "extract": "regex:("}, "strategy.extract"),
        ({"options": {"grammar": "root ::= root"}}, "options.grammar"),
    ],
)  # fmt: skip
def test_what_a_client_may_not_set_is_refused_by_name(partial, field):
    with pytest.raises(ClientSpecError) as error:
        client_spec({"question": "q?", **partial}, policy())
    assert error.value.field == field


def test_the_operator_opens_more():
    opened = policy(verifiers=("python", "tests:/srv/t.py"), models=("openai:*",), allow_code=True)
    client_spec({"question": "q", "strategy": "verify", "verifier": "tests:/srv/t.py"}, opened)
    client_spec({"question": "q", "models": {"root": "openai:any"}}, opened)
    spec = client_spec({"question": "q", "strategy": "recursive", "mode": "code", "context_text": "x"}, opened)
    assert spec.strategy.options["mode"] == "code"
    with pytest.raises(ClientSpecError):  # only the operator's file
        client_spec({"question": "q", "strategy": "verify", "verifier": "tests:/etc/passwd"}, opened)
    with pytest.raises(Exception, match="needs its file"):
        policy(verifiers=("grounded",))


def test_grammars_are_read_as_llama_cpp_reads_them():
    check_grammar('root ::= "yes" | "no"')
    check_grammar('root ::= [a-z]+ ("," [a-z]+)* "."?\n# a comment\n')
    check_grammar('root ::= ("a"?)*')  # llama.cpp takes it (the nullable loop is no left recursion to it)
    for bad in ('root ::= "a', "root ::= x", 'r ::= "a"', 'root ::= root "a"', 'root ::= "a" root',
                'root ::= [^\\x00-\\U0010FFFF]', 'root ::= "a"{2001}', "root ::= <[1]>", 'root ::= x* x\nx ::= ""'):  # fmt: skip
        with pytest.raises(GrammarError):
            check_grammar(bad)


def test_a_catastrophic_pattern_runs_out_of_time_instead_of_forever():
    pattern = user_pattern(r"(a|aa)+b")
    with pytest.raises(PatternTimeoutError):
        pattern.search("a" * 3000 + "!")
