"""``ponder mcp``: ponder's strategies as tools of an MCP server, for coding agents and other MCP clients.

:mod:`.tools` turns a tool call into a run (through ``ponder serve``'s client-spec
builder and policy) and runs it with progress; :mod:`.server` puts the tools on
the official SDK's ``MCPServer``. May import :mod:`ponder.serve` and the core, not the CLI.
"""

from .server import build_server
from .tools import Answer, McpConfig, PonderTools

__all__ = ["Answer", "McpConfig", "PonderTools", "build_server"]
