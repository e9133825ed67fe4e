"""A run inside a conversation: the system prompt and earlier turns a client sent reach every call.

A strategy answers one question; a chat client sends a conversation (a system
prompt, earlier user and assistant turns, then the question). The engine keeps
the conversation out of the strategies and puts it into each call it makes:
the client's system prompt comes first (joined with the strategy's own system
prompt, if the call has one), then the earlier turns, then the call's own
messages. So a strategy's prompts stay the same byte for byte after that
prefix (the KV prefix is reused), and the recorded call shows exactly what the
model saw. Recursive sub-calls over a slice of a context get no history.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..types import Message, system


def with_history(messages: Sequence[Message], history: Sequence[Message]) -> tuple[Message, ...]:
    """``messages`` of one call, inside the conversation ``history`` (see the module docs)."""
    if not history:
        return tuple(messages)
    own = 0
    while own < len(messages) and messages[own].role == "system":
        own += 1
    systems = [m.content for m in history if m.role == "system"] + [m.content for m in messages[:own]]
    turns = [m for m in history if m.role != "system"]
    head = [system("\n\n".join(systems))] if systems else []
    return (*head, *turns, *messages[own:])
