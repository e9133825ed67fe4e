"""What the root model of ``recursive`` code mode reads: the task, each turn's output, the final-answer request.

The words are data (``prompts/recursive/code_*.txt``); this module fills them in:

* :func:`root_prompt`: the system prompt (the REPL's functions with their
  signatures, how to work, three short worked examples: a fact, a count, a chain)
  and the task (the question, the context's size and start, the turn counter);
* :func:`output_message`: one turn's output with its turn number, and notes
  (a repeat, a refused first-turn answer, the turns left);
* :func:`final_request` and :func:`final_answer_of`: the last call made when the
  turns run out (or a loop ends the run), and the answer read from its reply;
* :func:`sub_chars`: how many characters a sub-call reads, from the ``sub``
  model's window.
"""

from __future__ import annotations

import ast
import re

from .. import prompts
from ..types import Message, system, user

#: turns left at which each output reminds the model to answer
LAST_TURNS = 2
#: tokens of the sub-model's window kept for the prompt's own words and the reply
SUB_RESERVE = 768
#: characters per token assumed for the context (conservative for English text)
CHARS_PER_TOKEN = 3

#: a FINAL(...) or FINAL_VAR(...) call at the end of a line (its argument is group 1)
FINAL_CALL = re.compile(r"\bFINAL(?:_VAR)?\(\s*(.*?)\s*\)\s*$", re.DOTALL | re.MULTILINE)


def sub_chars(window: int) -> int:
    """Characters of context one sub-call reads, for a sub-model of ``window`` tokens (at least 1000)."""
    return max(1000, (window - SUB_RESERVE) * CHARS_PER_TOKEN)


def root_prompt(
    question: str,
    context: str | list[str],
    *,
    max_output: int,
    chunk_chars: int,
    turns: int,
    tools: str = "",
    session: str = "",
) -> list[Message]:
    """The system prompt and the task message of a code-mode run."""
    docs = context if isinstance(context, list) else [context]
    first = docs[0] if docs else ""
    tool_text = f"\nTools, as functions (they return text; a failure raises ToolError):\n{tools}\n" if tools else ""
    return [
        system(
            prompts.render(
                "recursive/code_system", max_output=str(max_output), chunk_chars=str(chunk_chars), tools=tool_text
            )
        ),
        user(
            prompts.render(
                "recursive/code_task",
                question=question,
                kind="list of str" if isinstance(context, list) else "str",
                size=str(sum(len(d) for d in docs)),
                documents=str(len(docs)),
                preview=first[:300],
                turns=str(turns),
            )
            + session
        ),
    ]


def output_message(outputs: list[str], turn: int, turns: int, notes: list[str]) -> Message:
    """The user message after turn ``turn``: the blocks' outputs, then the notes (and the turns left, near the end)."""
    left = turns - turn
    notes = list(notes)
    if 0 < left <= LAST_TURNS:
        notes.append(prompts.render("recursive/code_last", left=str(left)))
    text = prompts.render(
        "recursive/code_output",
        turn=str(turn),
        turns=str(turns),
        output="\n".join(outputs),
        notes="".join("\n\n" + n for n in notes),
    )
    return user(text)


def repeat_note(earlier: int, code: bool) -> str:
    what = "the same code printed the same output" if code else "the same reply"
    return prompts.render("recursive/code_repeat", earlier=str(earlier), what=what)


#: how many parts of an answer the check looks up in the code run so far (an answer is the model's: unbounded)
MAX_CHECKED = 50


def searched(part: str, code: str) -> bool:
    """Whether ``part`` of an answer appears in ``code`` as a whole word or phrase, in any case (as ``grep``
    matches): ``ADA`` inside ``print(grep("ADAM"))`` was not searched for."""
    return re.search(rf"(?<!\w){re.escape(part)}(?!\w)", code, re.IGNORECASE) is not None


def confirm_note(answer: str, question: str, earlier: list[str], code: str) -> str:
    """The note that holds ``answer`` back for one check: the question again, the parts of the answer no code
    has searched for yet (``code``: every block run so far), and, after earlier answers were held back, all of
    them as one list to give instead."""

    def shown(text: str) -> str:
        return repr(text if len(text) <= 200 else text[:200] + "...")

    items = list(dict.fromkeys(part.strip() for a in [*earlier, answer] for part in a.split(",") if part.strip()))
    fresh = [item for item in items[:MAX_CHECKED] if not searched(item, code)][:5]
    unsearched = (
        f"\nYou have not searched for {', '.join(shown(i) for i in fresh)} yet: search before you answer, it may lead"
        " further."
        if fresh
        else ""
    )
    every = (
        f" If the question asks for every one, give all you found: FINAL({shown(', '.join(items))})." if earlier else ""
    )
    return prompts.render(
        "recursive/code_confirm", answer=shown(answer), question=question, unsearched=unsearched, every=every
    )


def final_request(history: list[Message], question: str) -> list[Message]:
    """The messages of the final-answer call: the conversation, then the request (joined to a last user message)."""
    ask = prompts.render("recursive/code_final", question=question)
    if history and history[-1].role == "user":
        return [*history[:-1], user(history[-1].content + "\n\n" + ask)]
    return [*history, user(ask)]


def final_answer_of(text: str) -> str | None:
    """The answer in the final call's reply: a ``FINAL(...)`` argument if it wrote one, else the text without
    the text itself; None for an empty reply or one with code but no ``FINAL``."""
    found = FINAL_CALL.findall(text)
    if found:
        raw = found[-1].strip()
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            value = raw
        answer = str(value).strip()
        return answer or None
    if "```" in text:
        return None  # code without FINAL: the model went on working, it gave no answer
    answer = text.strip()
    return answer or None
