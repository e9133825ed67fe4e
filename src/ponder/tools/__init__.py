"""Tools a model may call: the ``@tool`` decorator, built-ins and an MCP client.

>>> from ponder.tools import tool
>>> @tool
... def shout(text: str) -> str:
...     '''Upper-case some text.'''
...     return text.upper()
>>> shout.invoke_text("hi").output
'HI'

Built-ins: :data:`calculator`, :func:`python_tool` (needs a sandbox),
:func:`file_tools` (``search`` + ``read_file``), :func:`http_get_tool`,
:func:`mcp_tools`; :func:`parse_tool_specs` builds them from the CLI's
``--tools`` string.
"""

from .base import Tool, ToolError, ToolResult, close_tools, tool
from .calculator import calculator, calculator_tool
from .files import file_tools
from .http import http_get_tool
from .mcp import MCPToolset, mcp_tools
from .python import python_tool
from .specs import parse_tool_specs

__all__ = [
    "MCPToolset",
    "Tool",
    "ToolError",
    "ToolResult",
    "calculator",
    "calculator_tool",
    "close_tools",
    "file_tools",
    "http_get_tool",
    "mcp_tools",
    "parse_tool_specs",
    "python_tool",
    "tool",
]
