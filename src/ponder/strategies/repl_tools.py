"""The REPL's extra functions for ``recursive`` code mode: the run's tools, batched child runs, errors as values.

In the REPL (defined by :func:`setup_code`, run once after the bridge's own setup):

* ``tools.NAME(**arguments)``: any ponder tool of the run (``--tools``, MCP
  tools included) as a function; positional arguments follow the schema's
  order. The call goes to the host through the sandbox channel as a
  ``tool`` host call and becomes a :class:`~ponder.requests.CallTool`, so the
  engine validates its arguments against the tool's schema, admits it with
  the budget meter and traces it, exactly like react's tool calls. A failed
  call (bad arguments, a tool error) raises ``ToolError`` in the code with the
  tool's message; ``tools`` prints the signatures, ``tools["fs-read"]`` reaches
  names that are not identifiers.
* ``rlm_query_batched(prompts, contexts)``: one child run per (prompt,
  context), run together (:class:`~ponder.requests.Children`, bounded); a
  child that failed is a ``QueryError`` in the list (a ``str`` starting with
  ``Error:``), not an exception, so one failure never loses the others.

Every payload the host receives is checked here before it becomes a request
(:func:`tool_request`, :func:`batch_payload`): a malformed one is answered with
an error value the code sees, never an internal error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..requests import CallTool
from ..tools.base import Tool

#: most child runs one ``rlm_query_batched`` call may ask for
MAX_BATCH = 1000
#: most characters of all the contexts of one ``rlm_query_batched`` call (the REPL's own limit is the frame size)
MAX_BATCH_CHARS = 32 * 1024 * 1024

_SETUP = '''
class QueryError(str):
    """A failed sub-query in a batch: a str that starts with "Error:" (check with isinstance)."""


class ToolError(Exception):
    """A tool call failed: the message says why (bad arguments, or the tool's own error)."""


def rlm_query_batched(prompts, contexts):
    """One recursive child run per (prompt, context), run together; a failed child is a QueryError."""
    prompts, contexts = list(prompts), list(contexts)
    if len(prompts) != len(contexts):
        raise ValueError(f"rlm_query_batched needs one context per prompt ({len(prompts)} prompts, {len(contexts)} contexts)")
    for c in contexts:
        if not isinstance(c, str) and not (isinstance(c, list) and all(isinstance(x, str) for x in c)):
            raise TypeError(f"each context must be a str or a list of str, got {type(c).__name__}")
    if not prompts:
        return []
    out = host_call("rlm_query_batched", {"prompts": [str(p) for p in prompts], "contexts": contexts})
    if isinstance(out, dict) and "error" in out:
        raise ValueError(out["error"])
    return [QueryError("Error: " + r["error"]) if isinstance(r, dict) else r for r in out]


class _Tool:
    def __init__(self, name, params, signature, description):
        self._name, self._params, self._signature = name, params, signature
        self.__doc__ = description

    def __call__(self, *args, **kwargs):
        if len(args) > len(self._params):
            raise TypeError(f"{self._signature} takes at most {len(self._params)} positional arguments")
        for pname, value in zip(self._params, args):
            if pname in kwargs:
                raise TypeError(f"{self._name}() got two values for {pname!r}")
            kwargs[pname] = value
        reply = host_call("tool", {"name": self._name, "arguments": kwargs})
        if not isinstance(reply, dict) or not reply.get("ok"):
            raise ToolError(reply.get("error") if isinstance(reply, dict) else str(reply))
        return reply.get("output", "")

    def __repr__(self):
        return f"tools.{self._signature}"


class _Tools:
    def __init__(self, specs):
        self._all = {}
        for spec in specs:
            fn = _Tool(spec["name"], spec["params"], spec["signature"], spec["description"])
            self._all[spec["name"]] = fn
            if spec["attribute"]:
                setattr(self, spec["attribute"], fn)

    def __getattr__(self, name):
        known = ", ".join(self._all) or "none"
        raise AttributeError(f"there is no tool {name!r} (tools: {known})")

    def __getitem__(self, name):
        if name not in self._all:
            raise KeyError(f"there is no tool {name!r} (tools: {', '.join(self._all) or 'none'})")
        return self._all[name]

    def __iter__(self):
        return iter(self._all)

    def __repr__(self):
        return "\\n".join(repr(t) + ": " + (t.__doc__ or "").split("\\n")[0] for t in self._all.values()) or "(no tools)"


tools = _Tools(__import__("json").loads(_TOOL_SPECS))
del _TOOL_SPECS
'''


def setup_code(tools: Sequence[Tool]) -> str:
    """The REPL code that defines ``tools``, ``rlm_query_batched``, ``QueryError`` and ``ToolError``."""
    specs = [
        {
            "name": t.name,
            "attribute": t.name.replace("-", "_") if t.name.replace("-", "_").isidentifier() else "",
            "params": list((t.parameters.get("properties") or {}).keys()),
            "signature": t.signature(),
            "description": t.description,
        }
        for t in tools
    ]
    return f"_TOOL_SPECS = {json.dumps(json.dumps(specs))}\n{_SETUP}"


def tool_lines(tools: Sequence[Tool]) -> str:
    """The tools as the root model's prompt lists them: one ``tools.name(signature)`` line each."""
    lines = []
    for t in tools:
        call = t.signature()
        name = t.name.replace("-", "_")
        call = (
            f"tools.{name}{call[len(t.name) :]}" if name.isidentifier() else f'tools["{t.name}"]{call[len(t.name) :]}'
        )
        description = t.description.splitlines()[0] if t.description else ""
        lines.append(f"- {call} -> str: {description}".rstrip(": "))
    return "\n".join(lines)


def tool_request(tools: Mapping[str, Tool], payload: Any) -> CallTool | str:
    """The tool call a ``tool`` host call asks for, or the error to send back to the code."""
    if not isinstance(payload, dict):
        return f"a tool call needs {{'name': ..., 'arguments': {{...}}}}, got {type(payload).__name__}"
    name, arguments = payload.get("name"), payload.get("arguments", {})
    if not isinstance(name, str) or name not in tools:
        return f"there is no tool {name!r} (tools: {', '.join(tools) or 'none'})"
    if not isinstance(arguments, dict) or not all(isinstance(k, str) for k in arguments):
        return f"the arguments of {name} must be keyword arguments, got {type(arguments).__name__}"
    return CallTool(tools[name], arguments)


def batch_payload(payload: Any) -> tuple[list[str], list[str | list[str]]] | str:
    """The prompts and contexts of an ``rlm_query_batched`` host call, or the error to send back."""
    if not isinstance(payload, dict):
        return "rlm_query_batched needs a list of prompts and a list of contexts"
    prompts, contexts = payload.get("prompts"), payload.get("contexts")
    if not isinstance(prompts, list) or not isinstance(contexts, list) or len(prompts) != len(contexts):
        return "rlm_query_batched needs two lists of the same length: prompts and contexts"
    if len(prompts) > MAX_BATCH:
        return f"rlm_query_batched takes at most {MAX_BATCH} prompts at once, got {len(prompts)}"
    if not all(isinstance(p, str) for p in prompts):
        return "every prompt of rlm_query_batched must be a str"
    size = 0
    for c in contexts:
        if isinstance(c, str):
            size += len(c)
        elif isinstance(c, list) and all(isinstance(x, str) for x in c):
            size += sum(len(x) for x in c)
        else:
            return "every context of rlm_query_batched must be a str or a list of str"
    if size > MAX_BATCH_CHARS:
        return f"the contexts of one rlm_query_batched call hold {size} characters (limit {MAX_BATCH_CHARS})"
    return prompts, contexts
