"""A small MCP server for the tests, run as ``python tests/mcp_server_fixture.py`` over stdio.

Written with the official SDK's high-level server (``MCPServer``, called
FastMCP before mcp 2). The test starts it through an MCP config, exactly as a
user's server would be started.
"""

from __future__ import annotations

import os
import sys

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("fixture")


@server.tool()
def add(a: int, b: int = 0) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def greet(name: str) -> str:
    """Greet someone by name."""
    return f"Hello, {name}! ({os.environ.get('GREETING_SUFFIX', 'no suffix')})"


@server.tool()
def fail(reason: str) -> str:
    """Always fails with the given reason."""
    raise ToolError(reason)


@server.tool()
def crash() -> str:
    """Stops the server process (to test a server that dies)."""
    sys.stdout.flush()
    os._exit(3)


if __name__ == "__main__":
    server.run()
