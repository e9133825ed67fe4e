"""The tool contract: schema from hints and docstrings, checked invocation, the ReAct text protocol."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal, Optional

import pytest

from ponder.errors import ConfigError
from ponder.tools import Tool, ToolError, ToolResult, close_tools, parse_tool_specs, tool


@tool
def add(a: int, b: int = 0) -> int:
    """Add two integers.

    Args:
        a: the first number
        b: the second number,
            described on two lines
    """
    return a + b


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@tool
def kitchen_sink(
    words: list[str],
    ratio: float = 0.5,
    loud: bool = False,
    mode: Literal["fast", "slow"] = "fast",
    limit: Optional[int] = None,  # noqa: UP045 - testing the typing.Optional spelling on purpose
    tag: str | None = None,
    color: Color = Color.RED,
    note: Annotated[str, "a free note"] = "",
    extra: dict[str, int] | None = None,
    anything: Any = None,
) -> dict[str, Any]:
    """Do many things.

    A second paragraph of description.

    :param words: the words to use
    :param ratio: how much
    """
    return {"words": words, "ratio": ratio, "loud": loud, "mode": mode, "limit": limit, "color": color.value}


def test_contract_of_a_decorated_function() -> None:
    assert add.name == "add"
    assert add.description == "Add two integers."
    assert add.parameters == {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "description": "the first number"},
            "b": {"type": "integer", "description": "the second number, described on two lines", "default": 0},
        },
        "required": ["a"],
    }
    assert add(2, 3) == 5  # still a plain function
    assert add.to_openai() == {
        "type": "function",
        "function": {"name": "add", "description": "Add two integers.", "parameters": add.parameters},
    }
    assert add.signature() == "add(a: integer, b: integer = 0)"


def test_schema_covers_the_common_hints() -> None:
    props = kitchen_sink.parameters["properties"]
    assert kitchen_sink.description == "Do many things.\n\nA second paragraph of description."
    assert props["words"] == {"type": "array", "items": {"type": "string"}, "description": "the words to use"}
    assert props["ratio"] == {"type": "number", "description": "how much", "default": 0.5}
    assert props["loud"] == {"type": "boolean", "default": False}
    assert props["mode"] == {"type": "string", "enum": ["fast", "slow"], "default": "fast"}
    assert props["limit"] == {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}
    assert props["tag"] == {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}
    assert props["color"] == {"type": "string", "enum": ["red", "blue"], "default": "red"}
    assert props["note"] == {"type": "string", "description": "a free note", "default": ""}
    assert props["extra"]["anyOf"][0] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert props["anything"] == {"default": None}
    assert kitchen_sink.parameters["required"] == ["words"]


def test_unsupported_signatures_are_config_errors() -> None:
    def star(*args: int) -> None:
        """Nope."""

    def odd(x: complex) -> None:
        """Nope."""

    def fixed(x: tuple[int, str]) -> None:
        """Nope."""

    for fn in (star, odd, fixed):
        with pytest.raises(ConfigError, match=fn.__name__):
            tool(fn)
    with pytest.raises(ConfigError, match="tool name"):
        Tool("9 bad name", "", {"type": "object"}, lambda: None)


def test_invoke_success_and_result_fields() -> None:
    result = add.invoke({"a": 1, "b": 2})
    assert isinstance(result, ToolResult)
    assert (result.ok, result.output, result.error, result.truncated) == (True, "3", None, False)
    assert result.seconds >= 0
    assert result.observation == "3"
    assert kitchen_sink.invoke({"words": ["x"], "color": "blue", "mode": "slow"}).output == (
        '{"words": ["x"], "ratio": 0.5, "loud": false, "mode": "slow", "limit": null, "color": "blue"}'
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"a": "x"}, "argument 'a' must be an integer, got str 'x'"),
        ({"a": 1.5}, "argument 'a' must be an integer, got float 1.5"),
        ({"a": True}, "argument 'a' must be an integer, got bool True"),
        ({"a": None}, "argument 'a' must be an integer, got null"),
        ({"a": [1]}, "argument 'a' must be an integer, got a list of 1 items"),
        ({}, "missing required argument 'a'"),
        ({"a": 1, "c": 2}, "unknown argument 'c'; expected: a, b"),
    ],
)
def test_bad_arguments_come_back_as_observations(args: dict[str, Any], error: str) -> None:
    result = add.invoke(args)
    assert not result.ok
    assert result.output == ""
    assert result.error == error
    assert result.observation == f"Error: {error}"


def test_nested_and_enum_validation() -> None:
    assert (
        kitchen_sink.invoke({"words": ["a", {"b": 1}]}).error == "argument 'words[1]' must be a string, got an object"
    )
    assert kitchen_sink.invoke({"words": "a"}).error == "argument 'words' must be a list, got str 'a'"
    assert kitchen_sink.invoke({"words": [], "mode": "medium"}).error == (
        "argument 'mode' must be one of 'fast', 'slow', got 'medium'"
    )
    assert kitchen_sink.invoke({"words": [], "limit": "many"}).error == (
        "argument 'limit' must be an integer or null, got str 'many'"
    )
    assert kitchen_sink.invoke({"words": [], "extra": {"k": "v"}}).error == (
        "argument 'extra.k' must be an integer, got str 'v'"
    )
    assert add.invoke(["a"]).error == "arguments must be a JSON object, got a list of 1 items"  # type: ignore[arg-type]


def test_lenient_coercion_of_numbers_and_booleans_written_as_text() -> None:
    assert add.invoke({"a": "5", "b": 2.0}).output == "7"
    result = kitchen_sink.invoke({"words": [3], "ratio": "0.25", "loud": "true", "limit": "4"})
    assert result.ok, result.error
    assert '"words": ["3"], "ratio": 0.25, "loud": true' in result.output
    assert '"limit": 4' in result.output
    assert (
        kitchen_sink.invoke({"words": [], "ratio": "nan"}).error == "argument 'ratio' must be a number, got str 'nan'"
    )


def test_exceptions_inside_a_tool_are_observations() -> None:
    @tool
    def divide(a: int, b: int) -> float:
        """Divide."""
        if b == 1:
            raise ValueError("b must not be 1")
        if b == 2:
            raise ToolError("two is not allowed")
        return a / b

    assert divide.invoke({"a": 1, "b": 0}).error == "ZeroDivisionError: division by zero"
    assert divide.invoke({"a": 1, "b": 1}).error == "ValueError: b must not be 1"
    assert divide.invoke({"a": 1, "b": 2}).error == "two is not allowed"


def test_large_input_and_output_limits() -> None:
    @tool(max_output=50, max_input=1000)
    def echo(text: str) -> str:
        """Echo text."""
        return text

    result = echo.invoke({"text": "x" * 120})
    assert result.ok and result.truncated
    assert result.output == "x" * 50 + "\n[... truncated 70 characters]"
    too_big = echo.invoke({"text": "y" * 5000})
    assert not too_big.ok and too_big.error is not None
    assert too_big.error.startswith("input too large: 50")
    assert "limit 1000" in too_big.error
    assert echo.invoke_text("z" * 5000).error == "input too large: 5000 characters (limit 1000)"


def test_unserialisable_and_non_string_outputs() -> None:
    @tool
    def things(kind: str) -> object:
        """Return various things."""
        return {"none": None, "list": [1, "a"], "obj": object, "big": 10**5000}[kind]

    assert things.invoke({"kind": "none"}).output == ""
    assert things.invoke({"kind": "none"}).observation == "(no output)"
    assert things.invoke({"kind": "list"}).output == '[1, "a"]'
    assert things.invoke({"kind": "obj"}).output == "<class 'object'>"
    big = things.invoke({"kind": "big"})
    assert not big.ok and big.error is not None and "could not be shown" in big.error


@pytest.mark.parametrize(
    ("text", "output"),
    [
        ('{"a": 1, "b": 2}', "3"),
        ('{"a": 1}', "1"),
        ("5", "5"),
        ("  7  ", "7"),
        ('```json\n{"a": 2, "b": 2}\n```', "4"),
        ('"8"', "8"),
    ],
)
def test_invoke_text_protocol(text: str, output: str) -> None:
    result = add.invoke_text(text)
    assert result.ok, result.error
    assert result.output == output


def test_invoke_text_errors_and_string_parameters() -> None:
    @tool
    def run(code: str) -> str:
        """Run code."""
        return code

    @tool
    def pair(x: int, y: int) -> int:
        """Two required."""
        return x * y

    @tool
    def nothing() -> str:
        """No parameters."""
        return "ok"

    assert add.invoke_text("five").error == "argument 'a' must be an integer, got str 'five'"
    assert run.invoke_text('{"code": "print(1)"}').output == "print(1)"
    assert run.invoke_text('{"x": 1}').output == '{"x": 1}'  # a dict literal is code, not arguments
    assert run.invoke_text("```python\n    if x:\n        y()\n```").output == "if x:\n    y()"
    assert run.invoke_text('"quoted \\"text\\""').output == 'quoted "text"'
    assert pair.invoke_text('{"x": 2, "y": 3}').output == "6"
    assert (
        pair.invoke_text("2 3").error
        == 'this tool takes several arguments; write them as a JSON object like {"x": 1, "y": 1}'
    )
    bad_json = pair.invoke_text('{"x": 2,')
    assert bad_json.error is not None and bad_json.error.startswith("Action Input is not a valid JSON object")
    assert nothing.invoke_text("").output == "ok"
    assert nothing.invoke_text("none").output == "ok"
    assert nothing.invoke({"x": 1}).error == "unknown argument 'x'; expected: no arguments"
    assert add.invoke_text(None).error == "Action Input must be text, got NoneType"  # type: ignore[arg-type]


def test_directly_built_tool_uses_its_schema_and_close() -> None:
    closed: list[bool] = []
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 3}}, "required": ["n"]}
    direct = Tool(
        "count", "Count to n.", schema, lambda n: " ".join(map(str, range(1, n + 1))), close=lambda: closed.append(True)
    )
    assert direct.invoke({"n": 3}).output == "1 2 3"
    assert direct.invoke({"n": 9}).error == "argument 'n' must be at most 3, got 9"
    assert direct.invoke_text("2").output == "1 2"
    close_tools([direct, add])
    direct.close()
    assert closed == [True]


def test_parse_tool_specs_builds_and_rejects(tmp_path: Any) -> None:
    (tmp_path / "a.txt").write_text("hello world\n")
    tools = parse_tool_specs(f"calculator, search:{tmp_path}")
    assert [t.name for t in tools] == ["calculator", "search", "read_file"]
    assert parse_tool_specs("") == []
    with pytest.raises(ConfigError, match=r"unknown tool 'bogus'; known: calculator, python, search:DIR"):
        parse_tool_specs("calculator,bogus")
    with pytest.raises(ConfigError, match="needs an argument, like search:DIR"):
        parse_tool_specs("search")
    with pytest.raises(ConfigError, match="folder not found"):
        parse_tool_specs(f"search:{tmp_path / 'missing'}")
    with pytest.raises(ConfigError, match="more than once"):
        parse_tool_specs("calculator,calc")
    with pytest.raises(ConfigError, match="takes no argument"):
        parse_tool_specs("calculator:x")
    with pytest.raises(ConfigError, match="at least one allowed host"):
        parse_tool_specs("http:|")
    http = parse_tool_specs("http:127.0.0.1|example.com")
    assert [t.name for t in http] == ["http_get"]
    assert "127.0.0.1, example.com" in http[0].description
    close_tools(http)


def test_parse_tool_specs_python_uses_the_factory_and_closes_it() -> None:
    class Recorder:
        closed = False

        def run(self, code: str) -> Any:
            raise AssertionError("not called here")

        def close(self) -> None:
            self.closed = True

    made: list[Recorder] = []

    def factory() -> Recorder:
        made.append(Recorder())
        return made[-1]

    tools = parse_tool_specs("python", sandbox_factory=factory)
    assert [t.name for t in tools] == ["python"] and len(made) == 1
    close_tools(tools)
    assert made[0].closed
    with pytest.raises(ConfigError, match="unknown tool"):
        parse_tool_specs("python,nope", sandbox_factory=factory)
    assert made[1].closed  # the tools made before the error are closed again
