"""A JSON schema for a Python function, from its type hints and docstring.

``int`` → integer, ``float`` → number, ``str`` → string, ``bool`` → boolean,
``list[X]``/``tuple[X, ...]``/``set[X]`` → array of X, ``dict[str, X]`` → object,
``Literal[...]`` and ``Enum`` subclasses → enum, ``X | None``/``Optional[X]`` →
``anyOf`` with null, ``Annotated[X, "text"]`` → X with that description,
no hint / ``Any`` → any value. A parameter with a default is optional and the
default is shown. Parameter descriptions come from a Google-style ``Args:``
section or Sphinx ``:param x:`` lines; the tool description is the prose before
the first section. An unsupported hint is a :class:`~ponder.errors.ConfigError`
at decoration time, because a developer must fix it.
"""

from __future__ import annotations

import enum
import inspect
import json
import re
import types
import typing
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError

_SIMPLE: dict[Any, str] = {int: "integer", float: "number", str: "string", bool: "boolean", type(None): "null"}
_SECTION_RE = re.compile(
    r"^(Args|Arguments|Parameters|Params|Returns?|Yields?|Raises|Examples?|Notes?|See Also|Attributes)\s*:?\s*$",
    re.IGNORECASE,
)
_ARG_RE = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_ARG_SECTIONS = ("args", "arguments", "parameters", "params", "sphinx")
_SPHINX_RE = re.compile(r"^\s*:param\s+(?:[\w\[\], |]+\s+)?(\w+)\s*:\s*(.*)$")


def function_schema(fn: Callable[..., Any], name: str) -> tuple[str, dict[str, Any]]:
    """Return ``(description, parameters)`` for ``fn``; ``name`` is used in error messages."""
    doc = inspect.getdoc(fn) or ""
    description, arg_docs = parse_docstring(doc)
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:  # an unresolvable forward reference
        raise ConfigError(f"tool {name}: cannot read its type hints ({exc})") from exc
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ConfigError(f"tool {name}: *args/**kwargs cannot be described to a model; name each parameter")
        if param.kind is param.POSITIONAL_ONLY:
            raise ConfigError(f"tool {name}: parameter {param.name} is positional-only; tools are called by name")
        try:
            prop = type_schema(hints.get(param.name, Any))
        except ConfigError as exc:
            raise ConfigError(f"tool {name}: parameter {param.name}: {exc}") from exc
        if param.name in arg_docs and "description" not in prop:
            prop = {**prop, "description": arg_docs[param.name]}
        if param.default is param.empty:
            required.append(param.name)
        elif _is_json(param.default):
            prop = {**prop, "default": _jsonable(param.default)}
        properties[param.name] = prop
    parameters: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    return description, parameters


def converters(fn: Callable[..., Any]) -> dict[str, Callable[[Any], Any]]:
    """Per parameter, how to turn a checked JSON value into the hinted Python type, where they differ.

    JSON has no enums, tuples or sets: an ``Enum`` parameter gets the member, a
    ``tuple[X, ...]``/``set[X]`` parameter the container (also inside ``X | None``).
    """
    hints = typing.get_type_hints(fn, include_extras=True)
    out: dict[str, Callable[[Any], Any]] = {}
    for name, hint in hints.items():
        convert = _converter(hint)
        if name != "return" and convert is not None:
            out[name] = convert
    return out


def _converter(hint: Any) -> Callable[[Any], Any] | None:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated:
        return _converter(args[0])
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        convert = _converter(inner[0]) if len(inner) == 1 else None
        return None if convert is None else (lambda v: None if v is None else convert(v))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    container = origin or hint
    if container in (tuple, set, frozenset):
        return typing.cast(Callable[[Any], Any], container)
    return None


def type_schema(hint: Any) -> dict[str, Any]:
    """The JSON schema of one type hint (see the module doc for what is supported)."""
    if hint is Any or hint is inspect.Parameter.empty:
        return {}
    if hint in _SIMPLE:
        return {"type": _SIMPLE[hint]}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_schema([member.value for member in hint])
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated:
        inner = type_schema(args[0])
        texts = [a for a in args[1:] if isinstance(a, str)]
        return {**inner, "description": texts[0]} if texts else inner
    if origin is typing.Literal:
        return _enum_schema(list(args))
    if origin in (typing.Union, types.UnionType):
        options = [type_schema(a) for a in args if a is not type(None)]
        nullable = len(options) < len(args)
        if nullable and len(options) == 1:
            return {"anyOf": [options[0], {"type": "null"}]}
        return {"anyOf": options + ([{"type": "null"}] if nullable else [])}
    if hint in (list, tuple, set, frozenset) or origin in (list, tuple, set, frozenset, typing.Sequence):
        return _array_schema(origin or hint, args)
    if hint is dict or origin is dict:
        if args and args[0] is not str:
            raise ConfigError(f"dict keys must be str, got {args[0]!r}")
        return {"type": "object", "additionalProperties": type_schema(args[1])} if args else {"type": "object"}
    raise ConfigError(f"unsupported type hint {hint!r}")


def _array_schema(container: Any, args: tuple[Any, ...]) -> dict[str, Any]:
    if container is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        raise ConfigError("fixed-length tuples are not supported; use tuple[X, ...] or list[X]")
    return {"type": "array", "items": type_schema(args[0])} if args else {"type": "array"}


def _enum_schema(values: list[Any]) -> dict[str, Any]:
    if not values or not all(_is_json(v) for v in values):
        raise ConfigError(f"enum values must be JSON values, got {values!r}")
    kinds = {_SIMPLE.get(type(v)) for v in values}
    schema: dict[str, Any] = {"enum": values}
    if len(kinds) == 1 and None not in kinds:
        schema = {"type": kinds.pop(), "enum": values}
    return schema


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a (dedented) docstring into (description, {param: description})."""
    prose: list[str] = []
    params: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    entry_indent: int | None = None
    for line in doc.splitlines():
        indent = len(line) - len(line.lstrip())
        sphinx = _SPHINX_RE.match(line)
        header = _SECTION_RE.match(line.strip()) if indent == 0 else None
        if sphinx:
            section, current = "sphinx", sphinx.group(1)
            params[current] = sphinx.group(2).strip()
        elif header:
            section, current, entry_indent = header.group(1).lower(), None, None
        elif section is None:
            prose.append(line)
        elif section == "sphinx" and line.lstrip().startswith(":"):
            current = None  # :returns:, :raises: ...
        elif section in _ARG_SECTIONS and line.strip():
            match = _ARG_RE.match(line)
            if section != "sphinx" and match and (entry_indent is None or indent <= entry_indent):
                entry_indent = indent
                current = match.group(1)
                params[current] = match.group(2).strip()
            elif current:
                params[current] = f"{params[current]} {line.strip()}".strip()
    paragraphs = "\n".join(prose).strip().split("\n\n")
    description = "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
    return description, params


def _is_json(value: Any) -> bool:
    try:
        json.dumps(_jsonable(value))
    except (TypeError, ValueError):
        return False
    return True


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    return value
