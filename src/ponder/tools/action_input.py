"""Turn a ReAct "Action Input" string into tool arguments.

Models that have no native tool calls write the arguments as text. The rules,
in order:

1. A surrounding Markdown code fence (```` ```json ... ``` ````) is removed.
2. Text that is a JSON object whose keys are all parameters of the tool is the
   argument object: ``{"a": 1, "b": 2}``.
3. A tool with one parameter (or one required parameter) takes any other text
   as that parameter: a JSON value when the text is one (``5`` → 5,
   ``"2+3"`` → ``2+3``), the raw text otherwise. So ``print(1)`` is the
   ``code`` of the python tool, and ``{"x": 1}`` (a dict literal, not its
   parameters) is too.
4. A tool without parameters ignores the text.
5. Otherwise the model is told to write a JSON object, with an example.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Mapping
from typing import Any

from ..guards import payload
from .validate import ArgumentError

_FENCE_RE = re.compile(r"^```[\w+-]*[ \t]*\n(.*?)\n?```$", re.DOTALL)


def parse_action_input(text: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments for a tool with JSON schema ``parameters`` from the model's text (see module doc)."""
    stripped = text.strip()
    fenced = _FENCE_RE.match(stripped)
    if fenced:
        text = fenced.group(1)
        stripped = text.strip()
    props: Mapping[str, Any] = parameters.get("properties") or {}
    target = _single_target(parameters)
    if stripped.startswith("{"):
        error: ValueError | None = None
        try:
            loaded = payload.loads(stripped, what="Action Input")
        except ValueError as exc:  # not JSON, or nested too deeply / too big (payload.PayloadError)
            loaded, error = None, exc
        if isinstance(loaded, dict) and (target is None or set(loaded) <= set(props)):
            return loaded
        if target is None and props:
            raise ArgumentError(f"Action Input is not a valid JSON object ({error}); write it like {_example(props)}")
    if not props:
        return {}
    if target is None:
        raise ArgumentError(f"this tool takes several arguments; write them as a JSON object like {_example(props)}")
    return {target: _value(text, stripped, props[target])}


def _single_target(parameters: Mapping[str, Any]) -> str | None:
    props = list(parameters.get("properties") or {})
    required = list(parameters.get("required") or ())
    if len(required) == 1:
        return str(required[0])
    if not required and len(props) == 1:
        return str(props[0])
    return None


def _value(text: str, stripped: str, schema: Any) -> Any:
    kind = schema.get("type") if isinstance(schema, Mapping) else None
    if kind == "string":
        if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
            try:
                decoded = payload.loads(stripped)
            except ValueError:
                decoded = None
            if isinstance(decoded, str):
                return decoded
        # Keep relative indentation (code), drop the common indent and surrounding blank lines.
        return textwrap.dedent(text.strip("\r\n")).strip()
    try:
        return payload.loads(stripped)
    except ValueError:
        return stripped


def _example(props: Mapping[str, Any]) -> str:
    samples = {"integer": 1, "number": 1.5, "boolean": True, "array": [], "object": {}}
    example = {}
    for name, schema in props.items():
        kind = schema.get("type") if isinstance(schema, Mapping) else None
        example[name] = samples.get(kind, "...") if isinstance(kind, str) else "..."
    return json.dumps(example)
