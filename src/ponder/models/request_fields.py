"""The extra request fields an OpenAI-compatible call carries for one server: constraints and tool choice.

:func:`extra_fields` turns a call's grammar (a :class:`~ponder.grammar.constraint.Constraint`)
and tool choice into the fields the server's kind takes (:mod:`ponder.models.servers`):

=====================  ===================================================================
style                  fields
=====================  ===================================================================
``grammar``            ``grammar`` (llama.cpp's ``llama-server`` and llama-cpp-python)
``structured_outputs``  ``structured_outputs: {choice | grammar}`` (vLLM >= 0.10.2)
``guided``             ``guided_choice`` or ``guided_grammar`` (older vLLM)
``json_schema``        ``response_format: {type: json_schema, ...}`` (OpenAI, Ollama); the reply is
                       JSON and is decoded back to text; stop strings are not sent (they would cut it)
=====================  ===================================================================

A field the server rejected before is never sent; vLLM's two styles stand in for
each other, and a server that rejected ``grammar`` is sent the JSON schema instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..grammar.constraint import Constraint
from .servers import ConstraintStyle, ServerInfo

#: the optional fields a call may carry, longest names first (matched against a server's 400 message)
OPTIONAL_FIELDS: tuple[str, ...] = (
    "structured_outputs",
    "response_format",
    "guided_grammar",
    "guided_choice",
    "stream_options",
    "tool_choice",
    "grammar",
)


@dataclass(frozen=True, slots=True)
class Extra:
    """The fields to add to one request, and whether the reply must be decoded from JSON."""

    fields: dict[str, Any]
    decode: Constraint | None = None
    #: the constraint style used (for the recorded call), None when the call is unconstrained
    style: ConstraintStyle | None = None


def extra_fields(info: ServerInfo, grammar: str | None, tool_choice: str | None, has_tools: bool) -> Extra:
    """The fields for a call with ``grammar`` (GBNF or None) and ``tool_choice`` on the server ``info`` describes."""
    fields: dict[str, Any] = {}
    if has_tools and tool_choice and info.tool_choice and "tool_choice" not in info.rejected:
        fields["tool_choice"] = tool_choice
    if not grammar or has_tools:  # a tool-call reply is the server's own JSON: no output constraint on top
        return Extra(fields)
    constraint = Constraint.parse(grammar)
    for style in _styles(info):
        sent = _constraint_fields(style, constraint)
        if sent is None or any(name in info.rejected for name in sent):
            continue
        fields.update(sent)
        return Extra(fields, constraint if style == "json_schema" else None, style)
    return Extra(fields)


def _styles(info: ServerInfo) -> tuple[ConstraintStyle, ...]:
    """The styles to try, the server's own first."""
    if info.constraint == "structured_outputs":
        return ("structured_outputs", "guided")
    if info.constraint == "guided":
        return ("guided", "structured_outputs")
    if info.constraint == "grammar":
        return ("grammar", "json_schema")
    if info.constraint == "json_schema":
        return ("json_schema",)
    return ()


def _constraint_fields(style: ConstraintStyle, constraint: Constraint) -> dict[str, Any] | None:
    if style == "grammar":
        return {"grammar": constraint.gbnf}
    if style == "structured_outputs":
        if constraint.choices is not None:
            return {"structured_outputs": {"choice": list(constraint.choices)}}
        return {"structured_outputs": {"grammar": constraint.gbnf}}
    if style == "guided":
        if constraint.choices is not None:
            return {"guided_choice": list(constraint.choices)}
        return {"guided_grammar": constraint.gbnf}
    if style == "json_schema" and constraint.schema is not None:
        schema = {"name": "reply", "schema": constraint.schema, "strict": True}
        return {"response_format": {"type": "json_schema", "json_schema": schema}}
    return None


def rejected_field(message: str, sent: set[str]) -> str | None:
    """The optional field a server's error ``message`` names, among those ``sent``."""
    lowered = message.lower()
    for name in OPTIONAL_FIELDS:  # vLLM says "tool choice" for tool_choice
        if name in sent and (name in lowered or name.replace("_", " ") in lowered):
            return name
    return None
