"""Check and coerce a model's tool arguments against a JSON schema.

Only the part of JSON Schema that tool signatures use is understood: ``type``
(one name or a list), ``enum``, ``anyOf``/``oneOf``, ``items``, ``properties``,
``required``, ``additionalProperties`` and the simple bounds (``minimum``,
``maximum``, ``minLength``, ``maxLength``, ``minItems``, ``maxItems``).
Anything else is accepted as is, so schemas written elsewhere (MCP servers)
still work; the tool itself stays the final judge.

Coercion is deliberately lenient in one direction, because small models write
``{"a": "5"}`` as often as ``{"a": 5}``: a string that is exactly a number or
``true``/``false`` becomes that number or boolean, an integral float becomes an
int, and a number given for a string parameter becomes its text. Nothing else
is guessed; every failure is an :class:`ArgumentError` whose message is written
for the model (``argument 'a' must be an integer, got str 'x'``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

_INT_RE = re.compile(r"[+-]?\d+")
_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "a boolean (true or false)",
    "array": "a list",
    "object": "an object",
    "null": "null",
}
_MAX_DEPTH = 32


class ArgumentError(Exception):
    """The model's arguments do not fit the schema; the message is shown to the model."""


def check_args(schema: Mapping[str, Any], args: Any, where: str = "", depth: int = 0) -> dict[str, Any]:
    """Return ``args`` checked and coerced against an object ``schema``; raise ArgumentError."""
    if depth > _MAX_DEPTH:
        raise ArgumentError(f"argument '{where}' is nested too deeply")
    if not isinstance(args, Mapping):
        raise ArgumentError(f"{_label(where) or 'arguments'} must be a JSON object, got {describe(args)}")
    props: Mapping[str, Any] = schema.get("properties") or {}
    required = [str(name) for name in schema.get("required") or ()]
    extra = schema.get("additionalProperties", False)
    out: dict[str, Any] = {}
    for key, value in args.items():
        name = str(key)
        path = f"{where}.{name}" if where else name
        if name in props:
            out[name] = coerce(value, props[name], path, depth + 1)
        elif not extra:
            expected = ", ".join(props) or "no arguments"
            raise ArgumentError(f"unknown argument '{path}'; expected: {expected}")
        elif isinstance(extra, Mapping):
            out[name] = coerce(value, extra, path, depth + 1)
        else:
            out[name] = value
    for name in required:
        if name not in out:
            path = f"{where}.{name}" if where else name
            raise ArgumentError(f"missing required argument '{path}'")
    return out


def coerce(value: Any, schema: Any, where: str, depth: int = 0) -> Any:
    """Return ``value`` made to fit ``schema`` (see module doc) or raise ArgumentError."""
    if depth > _MAX_DEPTH:
        raise ArgumentError(f"argument '{where}' is nested too deeply")
    if not isinstance(schema, Mapping):
        return value
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        errors: list[ArgumentError] = []
        for option in options:
            try:
                return coerce(value, option, where, depth + 1)
            except ArgumentError as exc:
                errors.append(exc)
        # When the value has the right shape for exactly one option, that option's error says most.
        shaped = [e for o, e in zip(options, errors, strict=True) if _same_shape(value, o)]
        if len(shaped) == 1:
            raise shaped[0]
        wanted = " or ".join(_expected(o) for o in options)
        raise ArgumentError(f"argument '{where}' must be {wanted}, got {describe(value)}")
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        value = _coerce_type(value, names, where)
    if "enum" in schema:
        allowed = list(schema["enum"])
        value = _match_enum(value, allowed, where)
    if isinstance(value, list):
        value = _check_list(value, schema, where, depth)
    elif isinstance(value, Mapping) and ("properties" in schema or "additionalProperties" in schema):
        value = check_args(schema, value, where, depth + 1)
    _check_bounds(value, schema, where)
    return value


def _coerce_type(value: Any, names: list[str], where: str) -> Any:
    # Exact matches first, so a union like ["string", "integer"] never converts needlessly.
    for name in names:
        if _is_type(value, name):
            return value
    for name in names:
        converted = _convert(value, name)
        if converted is not _FAIL:
            return converted
    wanted = " or ".join(_TYPE_WORDS.get(n, n) for n in names)
    raise ArgumentError(f"argument '{where}' must be {wanted}, got {describe(value)}")


def _same_shape(value: Any, schema: Any) -> bool:
    kind = schema.get("type") if isinstance(schema, Mapping) else None
    return isinstance(kind, str) and kind != "null" and _is_type(value, kind)


def _is_type(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "array":
        return isinstance(value, list)
    if name == "object":
        return isinstance(value, Mapping)
    if name == "null":
        return value is None
    return True  # an unknown type name constrains nothing here


_FAIL = object()


def _convert(value: Any, name: str) -> Any:
    if name == "integer":
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _INT_RE.fullmatch(value.strip()) and len(value) < 100:
            return int(value.strip())
    elif name == "number" and isinstance(value, str) and len(value) < 100:
        try:
            number = float(value.strip())
        except ValueError:
            return _FAIL
        if math.isfinite(number):
            return int(number) if _INT_RE.fullmatch(value.strip()) else number
    elif name == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    elif name == "boolean" and isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    elif name == "null" and isinstance(value, str) and value.strip().lower() in ("null", "none"):
        return None
    return _FAIL


def _match_enum(value: Any, allowed: list[Any], where: str) -> Any:
    for option in allowed:
        if value == option and type(value) is type(option):
            return option
    for option in allowed:  # "2" for an enum of ints, and the like
        if str(value) == str(option):
            return option
    listed = ", ".join(_short(o) for o in allowed)
    raise ArgumentError(f"argument '{where}' must be one of {listed}, got {_short(value)}")


def _check_list(value: list[Any], schema: Mapping[str, Any], where: str, depth: int) -> list[Any]:
    items = schema.get("items")
    if not isinstance(items, Mapping):
        return value
    return [coerce(item, items, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)]


def _check_bounds(value: Any, schema: Mapping[str, Any], where: str) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = schema.get("minimum"), schema.get("maximum")
        if isinstance(low, int | float) and value < low:
            raise ArgumentError(f"argument '{where}' must be at least {low}, got {value}")
        if isinstance(high, int | float) and value > high:
            raise ArgumentError(f"argument '{where}' must be at most {high}, got {value}")
    sized = {str: ("minLength", "maxLength", "characters"), list: ("minItems", "maxItems", "items")}
    for kind, (low_key, high_key, unit) in sized.items():
        if isinstance(value, kind):
            low, high = schema.get(low_key), schema.get(high_key)
            if isinstance(low, int) and len(value) < low:
                raise ArgumentError(f"argument '{where}' must have at least {low} {unit}, got {len(value)}")
            if isinstance(high, int) and len(value) > high:
                raise ArgumentError(f"argument '{where}' must have at most {high} {unit}, got {len(value)}")


def _expected(schema: Any) -> str:
    if not isinstance(schema, Mapping):
        return "anything"
    if "enum" in schema:
        return "one of " + ", ".join(_short(o) for o in schema["enum"])
    types = schema.get("type")
    if isinstance(types, str):
        return _TYPE_WORDS.get(types, types)
    if isinstance(types, list):
        return " or ".join(_TYPE_WORDS.get(t, str(t)) for t in types)
    return "a value of another shape"


def describe(value: Any) -> str:
    """``str 'x'``, ``int 5``, ``null``: how a wrong value is shown to the model."""
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    return f"{type(value).__name__} {_short(value)}"


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _label(where: str) -> str:
    return f"argument '{where}'" if where else ""
