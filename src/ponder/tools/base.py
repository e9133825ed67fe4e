"""A tool: a named, described, schema-checked function a model may call.

>>> @tool
... def add(a: int, b: int = 0) -> int:
...     '''Add two integers.
...
...     Args:
...         a: the first number
...         b: the second number
...     '''
...     return a + b
>>> add.invoke({"a": 1, "b": 2}).output
'3'
>>> add.invoke({"a": "x"}).error
"argument 'a' must be an integer, got str 'x'"

``invoke`` and ``invoke_text`` never raise for problems the model caused (bad,
missing or extra arguments, input too large, an exception inside the tool);
they return a :class:`ToolResult` with ``ok=False`` whose ``error`` is written
for the model. Output longer than ``max_output`` characters is cut with a
visible marker. A tool that wants to tell the model something went wrong
without a Python class name in front raises :class:`ToolError`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, overload

from ..errors import ConfigError
from ..guards.payload import PayloadError, check_json
from .action_input import parse_action_input
from .grounding import Grounding
from .schema import converters, function_schema
from .validate import ArgumentError, check_args

DEFAULT_MAX_OUTPUT = 4000
DEFAULT_MAX_INPUT = 50_000
DEFAULT_TIMEOUT = 60.0  # seconds a tool call may take before the engine abandons it
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


class ToolError(Exception):
    """Raised inside a tool: the message goes to the model as the error, as is."""


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What one tool call returned: the output text, or an error meant for the model."""

    ok: bool
    output: str
    error: str | None = None
    truncated: bool = False
    seconds: float = 0.0

    @property
    def observation(self) -> str:
        """The text to show the model: the output, then ``Error: ...`` when the call failed."""
        parts = [self.output] if self.output else []
        if self.error:
            parts.append(f"Error: {self.error}")
        return "\n".join(parts) if parts else "(no output)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def truncate(text: str, limit: int) -> tuple[str, bool]:
    """Cut ``text`` to ``limit`` characters plus a marker saying how much was cut."""
    if len(text) <= limit:
        return text, False
    return f"{text[:limit]}\n[... truncated {len(text) - limit} characters]", True


class Tool:
    """A callable the model may use. Build one with :func:`tool` or directly.

    ``fn`` is called with keyword arguments that passed ``parameters`` (a JSON
    schema of type object). It may return a string, any JSON-able value (shown
    as JSON), ``None`` (no output) or a :class:`ToolResult`. ``close`` is called
    once by :meth:`close` to release what the tool holds (a sandbox, a server).
    ``input_grammar`` optionally restricts a ReAct Action Input (a GBNF rule body,
    e.g. ``[0-9+*/() .-]{1,200}``) on backends that support grammars. ``timeout`` is the
    hard wall-clock deadline of one call when the engine runs it (default 60 s, ``None``:
    only the run's own time limit): a call still running then is abandoned and the model
    is told so; the run's ``max_seconds`` ends the run even while a tool is stuck.
    """

    def __init__(
        self,
        name: str,
        description: str,
        parameters: Mapping[str, Any],
        fn: Callable[..., Any],
        *,
        max_output: int = DEFAULT_MAX_OUTPUT,
        max_input: int = DEFAULT_MAX_INPUT,
        close: Callable[[], None] | None = None,
        input_grammar: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
    ) -> None:
        if not _NAME_RE.match(name):
            raise ConfigError(f"tool name {name!r} must be 1-64 letters, digits, _ or -, not starting with a digit")
        if not isinstance(parameters, Mapping) or parameters.get("type", "object") != "object":
            raise ConfigError(f"tool {name}: parameters must be a JSON schema of type object")
        if max_output < 1 or max_input < 1:
            raise ConfigError(f"tool {name}: max_output and max_input must be >= 1")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < float("inf")
        ):
            raise ConfigError(f"tool {name}: timeout must be a positive number of seconds or None, got {timeout!r}")
        self.name = name
        #: the ``--tools`` item that builds this tool again (e.g. ``calculator``, ``search:DIR``), if known
        self.spec: str | None = None
        self.description = description.strip()
        self.parameters: dict[str, Any] = {"type": "object", **parameters}
        self.fn = fn
        #: per-parameter conversions applied after checking (JSON value -> Enum member, tuple, ...)
        self.convert: dict[str, Callable[[Any], Any]] = {}
        self.max_output = max_output
        self.max_input = max_input
        self._close = close
        #: optional GBNF rule body for this tool's ReAct "Action Input" (constrained decoding)
        self.input_grammar = input_grammar
        #: optional: builds this tool's input rule from the run's material, and checks inputs against it
        #: (see :mod:`ponder.tools.grounding`); strategies use it in place of ``input_grammar`` when set
        self.grounding: Grounding | None = None
        #: seconds one call may run before the engine abandons it (None: only the run's time limit)
        self.timeout = timeout

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying function directly (no checks): a decorated function stays usable."""
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Tool {self.signature()}>"

    def invoke(self, args: Mapping[str, Any] | None = None) -> ToolResult:
        """Check ``args`` against the schema, call the tool, return its result. Never raises."""
        start = time.perf_counter()
        try:
            _check_structure(args)
            size = _size(args if args is not None else {})
            if size > self.max_input:
                raise ToolError(f"input too large: {size} characters (limit {self.max_input})")
            clean = check_args(self.parameters, args if args is not None else {})
            for key, convert in self.convert.items():
                if key in clean:
                    clean[key] = convert(clean[key])
            raw = self.fn(**clean)
        except (ArgumentError, ToolError) as exc:
            error, cut = truncate(str(exc), self.max_output)
            return ToolResult(False, "", error, cut, time.perf_counter() - start)
        except Exception as exc:  # the tool failed: the model sees what happened
            error, cut = truncate(_exc_text(exc), self.max_output)
            return ToolResult(False, "", error, cut, time.perf_counter() - start)
        return self._finish(raw, time.perf_counter() - start)

    def invoke_text(self, text: str) -> ToolResult:
        """Call the tool with a ReAct "Action Input" string (see :mod:`ponder.tools.action_input`)."""
        if not isinstance(text, str):
            return ToolResult(False, "", f"Action Input must be text, got {type(text).__name__}")
        if len(text) > self.max_input:
            return ToolResult(False, "", f"input too large: {len(text)} characters (limit {self.max_input})")
        try:
            args = parse_action_input(text, self.parameters)
        except ArgumentError as exc:
            return ToolResult(False, "", str(exc))
        return self.invoke(args)

    def _finish(self, raw: Any, seconds: float) -> ToolResult:
        if isinstance(raw, ToolResult):
            output, cut = truncate(raw.output, self.max_output)
            error, cut_error = truncate(raw.error, self.max_output) if raw.error else (raw.error, False)
            return ToolResult(raw.ok, output, error, raw.truncated or cut or cut_error, seconds)
        try:
            text = _to_text(raw)
        except Exception as exc:
            return ToolResult(False, "", f"the tool's result could not be shown ({_exc_text(exc)})", False, seconds)
        output, cut = truncate(text, self.max_output)
        return ToolResult(True, output, None, cut, seconds)

    def close(self) -> None:
        """Release what the tool holds; calling it again does nothing."""
        close, self._close = self._close, None
        if close is not None:
            close()

    def signature(self) -> str:
        """A one-line call signature for prompts: ``add(a: integer, b: integer = 0)``."""
        props: Mapping[str, Any] = self.parameters.get("properties") or {}
        required = set(self.parameters.get("required") or ())
        parts = []
        for pname, schema in props.items():
            part = f"{pname}: {_type_word(schema)}"
            if isinstance(schema, Mapping) and "default" in schema:
                part += f" = {json.dumps(schema['default'])}"
            elif pname not in required:
                part += " (optional)"
            parts.append(part)
        return f"{self.name}({', '.join(parts)})"

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI-style function spec, for backends with native tool calls."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


@overload
def tool(
    fn: Callable[..., Any],
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    max_output: int = ...,
    max_input: int = ...,
    timeout: float | None = ...,
) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    max_output: int = ...,
    max_input: int = ...,
    timeout: float | None = ...,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    max_output: int = DEFAULT_MAX_OUTPUT,
    max_input: int = DEFAULT_MAX_INPUT,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a :class:`Tool` from a function: ``@tool`` or ``@tool(name=..., max_output=...)``.

    The schema comes from the type hints, the descriptions from the docstring
    (see :mod:`ponder.tools.schema`).
    """

    def build(func: Callable[..., Any]) -> Tool:
        tool_name = name or func.__name__
        doc_description, parameters = function_schema(func, tool_name)
        text = description if description is not None else doc_description
        made = Tool(tool_name, text, parameters, func, max_output=max_output, max_input=max_input, timeout=timeout)
        made.convert = converters(func)
        return made

    return build(fn) if fn is not None else build


def close_tools(tools: list[Tool]) -> None:
    """Close every tool (sandboxes, MCP servers); errors in one do not stop the others."""
    errors: list[BaseException] = []
    for item in tools:
        try:
            item.close()
        except Exception as exc:
            errors.append(exc)
    if errors:
        raise errors[0]


def _check_structure(args: Any) -> None:
    """Depth and size of the arguments, checked without recursion before anything recurses over them."""
    try:
        check_json(args, what="the argument object", plain=False)
    except PayloadError as exc:
        raise ToolError(str(exc)) from None


def _size(args: Any) -> int:
    try:
        return len(json.dumps(args, ensure_ascii=False, default=str))
    except (ValueError, RecursionError) as exc:
        raise ToolError(f"arguments could not be read ({exc})") from exc


def _to_text(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool | int | float):
        return json.dumps(raw)
    if isinstance(raw, dict | list | tuple):
        return json.dumps(raw, ensure_ascii=False, default=str)
    return str(raw)


def _exc_text(exc: BaseException) -> str:
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _type_word(schema: Any) -> str:
    if not isinstance(schema, Mapping):
        return "any"
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    if "anyOf" in schema:
        return " | ".join(_type_word(s) for s in schema["anyOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list[{_type_word(schema.get('items', {}))}]"
    return " | ".join(kind) if isinstance(kind, list) else str(kind)
