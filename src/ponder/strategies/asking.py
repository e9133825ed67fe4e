"""The first messages of a one-shot answer: the system prompt and the question, or a packaged prompt.

``prompt`` names a chat prompt shipped in ``ponder/prompts`` (``[system]``/``[user]``/
``[assistant]`` sections, few-shot turns allowed) whose ``$question`` is the question:
``answer/cot`` (think step by step, end with "The answer is ..."), ``game24/io`` and
``game24/cot`` (the Tree-of-Thoughts paper's few-shot Game of 24 prompts). Only these
names can be chosen (:data:`PROMPTS`), so a spec from a client never names a file.
"""

from __future__ import annotations

from .. import prompts
from ..access import CLIENT
from ..tasks.base import chat_prompt
from ..types import Message, system, user
from .entry import Option

#: the packaged prompts a spec may choose for a one-shot answer
PROMPTS = ("answer/cot", "game24/io", "game24/cot")


def ask(question: str, prompt: str | None = None, system_prompt: str | None = None) -> list[Message]:
    """The messages that ask ``question``: the packaged ``prompt`` if given, else a system prompt and the question."""
    if prompt is not None:
        return chat_prompt(prompt, question=question)
    return [system(system_prompt if system_prompt is not None else prompts.load("system")), user(question)]


#: the ``prompt`` option of the strategies that ask once (``single``, ``consistency``)
PROMPT_OPTION = Option(
    "prompt",
    str,
    "single/consistency: a packaged prompt for the question (answer/cot, game24/io, game24/cot).",
    "--prompt",
    choices=PROMPTS,
    nullable=True,
    access=CLIENT,
)
