"""Recursive code mode at parity with the reference RLM: scripted roots that write realistic code.

Each test's root model writes the code a capable model would (slice, filter, batch sub-calls,
recurse, use a tool, answer); which model served each call is read from the recorded steps.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from layout import SUPPORT
from ponder import Budget, Engine, ScriptedModel
from ponder.errors import ModelCallError
from ponder.strategies.recursive_code import RecursiveCode
from ponder.tools import close_tools, parse_tool_specs, tool
from ponder.types import Message

pytestmark = pytest.mark.integration

RECORDS = [f"record {i}: colour={'red' if i % 3 == 0 else 'blue'} size={i % 7}" for i in range(120)]
CONTEXT = "\n".join(RECORDS)


def block(code: str) -> str:
    return f"I will run this.\n```python\n{code}\n```"


def is_root(messages: Sequence[Message]) -> bool:
    return messages[0].role == "system" and "REPL" in messages[0].content


def turn(messages: Sequence[Message]) -> int:
    """How many code turns the root has had (its replies so far)."""
    return sum(m.role == "assistant" for m in messages)


def counting_sub(messages: Sequence[Message]) -> str:
    """A sub-model that counts red records exactly."""
    return str(messages[-1].content.count("colour=red"))


def test_llm_query_batched_maps_over_chunks_on_the_sub_model() -> None:
    def root(messages: Sequence[Message]) -> str:
        if turn(messages) == 0:
            return block("import re\nprint(len(context.splitlines()), 'lines')")
        return block(
            "import re\n"
            "lines = context.splitlines()\n"
            "chunks = ['\\n'.join(lines[i:i+20]) for i in range(0, len(lines), 20)]\n"
            "chunks = [c for c in chunks if re.search(r'colour=red', c)]\n"
            "answers = llm_query_batched(['How many red records? ' + c for c in chunks])\n"
            "print(answers)\n"
            "FINAL(sum(int(a) for a in answers))"
        )

    root_model = ScriptedModel(root, name="big")
    sub_model = ScriptedModel(counting_sub, name="small")
    result = Engine(root_model, models={"sub": sub_model}, budget=Budget(max_steps=30)).run(
        RecursiveCode(CONTEXT), "How many red records?"
    )
    assert result.answer == "40" and result.stop_reason == "answered"
    served = {(s.kind, s.model) for s in result.steps if s.model}
    assert served == {("code", "big"), ("sub_query", "small")}
    assert sum(s.kind == "sub_query" for s in result.steps) == 6
    assert "120 lines" in root_model.calls[1].messages[-1].content


def test_rlm_query_batched_runs_children_at_once_and_a_failed_child_is_a_value() -> None:
    started = threading.Barrier(3, timeout=20)  # the three children's first calls must overlap

    def model(messages: Sequence[Message]) -> str:
        if not is_root(messages):
            return "?"
        task = messages[1].content
        if "Count red" in task:  # a child run, on the sub model
            if turn(messages) == 0:
                started.wait()
                if "record 40:" in task:
                    raise ModelCallError("the sub server failed")
                return block("FINAL(str(context.count('colour=red')))")
            return block("FINAL('0')")
        if turn(messages) == 0:
            return block(
                "lines = context.splitlines()\n"
                "parts = ['\\n'.join(lines[i:i+40]) for i in range(0, 120, 40)]\n"
                "answers = rlm_query_batched(['Count red records'] * 3, parts)\n"
                "bad = [a for a in answers if isinstance(a, QueryError)]\n"
                "print(len(bad), 'failed:', bad)\n"
                "FINAL(sum(int(a) for a in answers if not isinstance(a, QueryError)))"
            )
        return block("FINAL('lost')")

    root_model = ScriptedModel(model, name="big")
    sub_model = ScriptedModel(model, name="small")
    events: list[object] = []
    engine = Engine(root_model, models={"sub": sub_model}, budget=Budget(max_steps=40), sinks=[events.append])
    result = engine.run(RecursiveCode(CONTEXT), "How many red records?")
    # children 1 and 3 counted 14 + 13 (records 0..39 and 80..119); child 2 failed and is a value
    assert result.answer == "27"
    repl = [s for s in result.steps if s.kind == "repl" and s.depth == 0]
    assert "1 failed: ['Error: " in repl[0].text and "sub server failed" in repl[0].text
    children = [e for e in events if getattr(e, "type", "") == "run_started" and getattr(e, "depth", 0) == 1]
    assert len(children) == 3 and all(getattr(e, "model", "") == "small" for e in children)
    assert {s.model for s in result.steps if s.depth == 1 and s.model} == {"small"}


def test_models_per_depth_serve_each_level() -> None:
    def model(messages: Sequence[Message]) -> str:
        if not is_root(messages):
            return "leaf answer"
        task = messages[1].content
        if turn(messages) > 0:
            return block("FINAL(out)")
        if "level two" in task:
            return block("out = llm_query('leaf question: ' + context)")
        if "level one" in task:
            return block("out = rlm_query('level two', context[:30])")
        return block("out = rlm_query('level one', context[:60])\nprint(out)")

    names = {"root": "m0", "sub": "msub", "depth:2": "m2", "depth:3": "m3"}
    models = {role: ScriptedModel(model, name=name) for role, name in names.items()}
    engine = Engine(
        models["root"], models={k: v for k, v in models.items() if k != "root"}, budget=Budget(max_steps=30)
    )
    result = engine.run(RecursiveCode(CONTEXT), "top question")
    assert result.answer == "leaf answer"
    by_depth = {(s.depth, s.kind, s.model) for s in result.steps if s.model}
    # depth 0 writes code on the root model; the child at depth 1 on the sub model (no depth:1 given);
    # the child at depth 2 on depth:2's; its llm_query is one level further down: depth:3's
    assert by_depth == {(0, "code", "m0"), (1, "code", "msub"), (2, "code", "m2"), (2, "sub_query", "m3")}


@tool
def lookup(key: str) -> str:
    """Look a colour code up in the catalogue.

    Args:
        key: the colour name
    """
    table = {"red": "R-17", "blue": "B-02"}
    if key not in table:
        raise ValueError(f"no colour {key!r}")
    return table[key]


def test_tools_are_functions_in_the_repl_validated_and_traced() -> None:
    def root(messages: Sequence[Message]) -> str:
        if turn(messages) == 0:
            return block(
                "print(tools)\n"
                "code = tools.lookup(key='red')\n"
                "try:\n    tools.lookup()\nexcept ToolError as e:\n    print('bad call:', e)\n"
                "try:\n    tools.lookup('green')\nexcept ToolError as e:\n    print('tool failed:', e)\n"
                "print('code', code)"
            )
        return block("FINAL(code)")

    root_model = ScriptedModel(root, name="big")
    result = Engine(root_model, budget=Budget(max_steps=10)).run(
        RecursiveCode(CONTEXT, tools=(lookup,)), "Code of red?"
    )
    assert result.answer == "R-17"
    system_prompt = root_model.calls[0].messages[0].content
    assert "tools.lookup(key: string) -> str: Look a colour code up in the catalogue." in system_prompt
    tool_steps = [s for s in result.steps if s.kind == "tool"]
    assert [(s.data["tool"], s.data["ok"]) for s in tool_steps] == [
        ("lookup", True),
        ("lookup", False),
        ("lookup", False),
    ]
    assert tool_steps[0].data["arguments"] == {"key": "red"}
    output = root_model.calls[1].messages[-1].content
    assert "bad call: missing required argument 'key'" in output
    assert "tool failed:" in output and "no colour 'green'" in output
    assert "code R-17" in output and "tools.lookup(key: string)" in output


def test_a_malformed_tool_payload_is_an_error_value_for_the_code() -> None:
    def root(messages: Sequence[Message]) -> str:
        if turn(messages) == 0:
            return block(
                "print(host_call('tool', {'name': 'nope', 'arguments': {}}))\n"
                "print(host_call('tool', 'oops'))\n"
                "print(host_call('rlm_query_batched', {'prompts': ['a'], 'contexts': [1]}))"
            )
        return block("FINAL('done')")

    root_model = ScriptedModel(root)
    result = Engine(root_model, budget=Budget(max_steps=10)).run(RecursiveCode("abc", tools=(lookup,)), "q?")
    assert result.answer == "done"
    output = root_model.calls[1].messages[-1].content
    assert "there is no tool 'nope' (tools: lookup)" in output
    assert "a tool call needs" in output
    assert "every context of rlm_query_batched must be a str or a list of str" in output


def test_long_output_keeps_head_and_tail_and_errors_show_their_line() -> None:
    def root(messages: Sequence[Message]) -> str:
        n = turn(messages)
        if n == 0:
            return block("for line in context.splitlines():\n    print(line)")
        if n == 1:
            return block("x = 1\ny = [r for r in context.splitlines()]\nz = y[500]\nprint(z)")
        if n == 2:
            return block("SHOW_VARS()")
        return block("FINAL('ok')")

    root_model = ScriptedModel(root)
    Engine(root_model, budget=Budget(max_steps=10)).run(RecursiveCode(CONTEXT, max_output=800), "q?")
    first = root_model.calls[1].messages[-1].content
    assert "record 0:" in first and "record 119:" in first  # both ends of the long print
    assert re.search(r"\[\.\.\. \d+ characters \(\d+ lines\) cut from the middle", first)
    assert len(first.split("\n\n(turn ")[0]) < 1100  # the output itself; the turn counter and next step follow
    second = root_model.calls[2].messages[-1].content
    assert "Error at line 3: z = y[500]" in second and "IndexError: list index out of range" in second
    third = root_model.calls[3].messages[-1].content
    assert f"context: str, len {len(CONTEXT)}" in third and "y: list, len 120" in third and "x: int" in third
    assert "llm_query" not in third and "host_call" not in third


def test_failed_llm_query_in_a_batch_is_an_error_string() -> None:
    def root(messages: Sequence[Message]) -> str:
        if turn(messages) == 0:
            return block("out = llm_query_batched(['good', 'bad', 'good'])\nprint(out)")
        return block("FINAL(out[0] + '/' + out[1][:6])")

    def sub(messages: Sequence[Message]) -> str:
        if messages[-1].content == "bad":
            raise ModelCallError("down")
        return "fine"

    result = Engine(ScriptedModel(root), models={"sub": ScriptedModel(sub)}, budget=Budget(max_steps=10)).run(
        RecursiveCode("abc"), "q?"
    )
    assert result.answer == "fine/Error:"


@pytest.mark.integration
def test_mcp_tools_are_callable_from_the_repl(tmp_path: Path) -> None:
    fixture = SUPPORT / "mcp_server_fixture.py"
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"fx": {"command": sys.executable, "args": [str(fixture)]}}}))
    tools = parse_tool_specs(f"mcp:{config}")
    try:

        def root(messages: Sequence[Message]) -> str:
            if turn(messages) == 0:
                return block("total = tools.add(a=2, b=40)\nhello = tools.greet('Ada')\nprint(total, hello)")
            return block("FINAL(total + ' / ' + hello)")

        root_model = ScriptedModel(root)
        result = Engine(root_model, budget=Budget(max_steps=10)).run(RecursiveCode("abc", tools=tuple(tools)), "q?")
    finally:
        close_tools(tools)
    assert result.answer is not None and result.answer.startswith("42 / Hello, Ada!")
    assert "tools.add(a: integer, b: integer = 0) -> str: Add two integers." in root_model.calls[0].messages[0].content
    assert [s.data["tool"] for s in result.steps if s.kind == "tool"] == ["add", "greet"]
