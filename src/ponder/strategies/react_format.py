"""The ReAct text protocol: few-shot examples, the output grammar, and the parser.

A step the model writes is either an action::

    Thought: <optional reasoning>
    Action: <tool name>
    Action Input: <input, may span lines>

or an explicit finish::

    Final Answer: <the answer>

(``Action: finish`` with the answer as its input is accepted too). Anything
else is a format error that goes back to the model as an observation.

With ``think`` (the ReAct paper's own format) every step starts with one
``Thought:`` line, the grammar requires it, the examples show theirs, and the
history keeps it; without it, the examples' thoughts are left out and the
grammar allows none, as before.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from .. import prompts
from ..tools.grounding import Rule
from ..types import Message, assistant, user

_FINAL = re.compile(r"^\s*Final Answer\s*:\s*(.*)", re.IGNORECASE | re.MULTILINE | re.DOTALL)
_ACTION = re.compile(r"^\s*Action\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_INPUT = re.compile(r"^\s*Action Input\s*:[ \t]*(.*)", re.IGNORECASE | re.MULTILINE | re.DOTALL)
_OBS = re.compile(r"^\s*Observation\s*:", re.IGNORECASE | re.MULTILINE)
_THOUGHT = re.compile(r"^\s*Thought\s*:\s*(.*)", re.IGNORECASE | re.DOTALL)

#: input rule for tools without a grammar of their own: one line, bounded
LINE_RULE = r"[^\n]+"
#: a step's thought: one line, not empty, not starting with a space
THOUGHT_RULE = r"[^\n ] [^\n]*"
#: input rule for code: several lines, bounded (the stop sequence "Observation:" ends it)
BLOCK_RULE = r"[^\x00]+"


@dataclass(frozen=True, slots=True)
class Action:
    tool: str
    input: str
    thought: str = ""


@dataclass(frozen=True, slots=True)
class Final:
    answer: str
    thought: str = ""


@dataclass(frozen=True, slots=True)
class Malformed:
    reason: str


Parsed = Action | Final | Malformed


def parse(text: str) -> Parsed:
    """Parse one model step. Text after a hallucinated ``Observation:`` is ignored."""
    cut = _OBS.search(text)
    if cut:
        text = text[: cut.start()]
    action = _ACTION.search(text)
    final = _FINAL.search(text)
    if final and (action is None or final.start() < action.start()):
        answer = final.group(1).strip()
        return Final(answer, _thought(text[: final.start()])) if answer else Malformed("the Final Answer is empty")
    if action is None:
        return Malformed("no Action and no Final Answer")
    name = action.group(1).strip().strip("`*").strip()
    rest = text[action.end() :]
    given = _INPUT.search(rest)
    value = given.group(1).strip() if given else ""
    thought = _thought(text[: action.start()])
    if name.lower() == "finish":
        return Final(value, thought) if value else Malformed("finish needs the answer as its Action Input")
    if given is None:
        return Malformed(f"Action {name!r} has no Action Input")
    return Action(name, value, thought)


def _thought(before: str) -> str:
    """The reasoning written before a step's Action or Final Answer (after ``Thought:`` if it says so)."""
    found = _THOUGHT.match(before)
    return " ".join((found.group(1) if found else before).split())


def step_text(parsed: Action | Final) -> str:
    """The canonical text of a step, as stored in the history (keeps prompts byte-stable)."""
    head = f"Thought: {parsed.thought}\n" if parsed.thought else ""
    if isinstance(parsed, Final):
        return f"{head}Final Answer: {parsed.answer}"
    return f"{head}Action: {parsed.tool}\nAction Input: {parsed.input}"


def grammar(
    tools: Sequence[tuple[str, str | Rule | None, bool]], final: Rule | None = None, think: bool = False
) -> str:
    """A GBNF grammar for one step. ``tools`` holds (name, input rule or None, multiline); a rule is a
    rule body, or a :class:`~ponder.tools.grounding.Rule` with the definitions it refers to. ``final``
    is the rule of the final answer's text (default: any one line). ``think``: one ``Thought:`` line first."""
    alts: list[str] = []
    defs: list[str] = []
    for i, (name, rule, multiline) in enumerate(tools):
        if isinstance(rule, Rule):
            body = rule.body
            defs.extend(rule.defs)
        else:
            body = rule or (BLOCK_RULE if multiline else LINE_RULE)
        alts.append(f'a{i} ::= "Action: {name}\\nAction Input: " {body}')
    names = " | ".join(f"a{i}" for i in range(len(tools)))
    step = f"{names} | final" if tools else "final"
    head = f'root ::= "Thought: " {THOUGHT_RULE} "\\n" ({step})' if think else f"root ::= {step}"
    if final is not None:
        defs.extend(final.defs)
    answer = final.body if final is not None else LINE_RULE
    return "\n".join([head, *alts, *defs, f'final ::= "Final Answer: " {answer}'])


def examples(tool_names: Sequence[str], per_tool: int = 3, think: bool = False) -> list[Message]:
    """Few-shot turns for the given tools, from ``prompts/react/examples/<tool>.txt`` (their ``Thought:``
    lines only with ``think``)."""
    folder = resources.files(prompts.__package__).joinpath("react", "examples")
    turns: list[Message] = []
    for name in tool_names:
        path = folder.joinpath(f"{name}.txt")
        if not path.is_file():
            continue
        blocks = path.read_text(encoding="utf-8").split("\n---\n")
        for block in blocks[:per_tool]:
            turns.extend(_turns(block, think))
    return turns


#: the fields of an example block; a line starting with none of them continues the field before it
_FIELDS = ("Question", "Thought", "Action", "Action Input", "Observation", "Final Answer")


def _turns(block: str, think: bool = False) -> list[Message]:
    """One example's turns. A ``Thought`` before the Action is the action's, one after the Observation the
    final answer's (shown only with ``think``)."""
    fields: dict[str, str] = {}
    last = ""
    for line in block.strip().splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in _FIELDS:
            last = key.strip()
            if last == "Thought" and "Observation" in fields:
                last = "Final Thought"
            fields[last] = value.strip()
        else:  # an input of several lines (a program)
            fields[last] += "\n" + line.rstrip()

    def thought(key: str) -> str:
        return fields.get(key, "") if think else ""

    return [
        user(f"Question: {fields['Question']}"),
        assistant(step_text(Action(fields["Action"], fields["Action Input"], thought("Thought")))),
        user(f"Observation: {fields['Observation']}"),
        assistant(step_text(Final(fields["Final Answer"], thought("Final Thought")))),
    ]
