"""The MCP server itself: the tools of :mod:`ponder.mcp_server.tools` on the SDK's ``MCPServer``."""

from __future__ import annotations

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from .. import __version__
from ..strategies import entries
from .tools import Answer, PonderTools, ToolCallError

INSTRUCTIONS = (
    "ponder runs a small language model in visible, budgeted reasoning loops. Use `ask` to answer a question"
    " with a strategy, and `query` to answer a question about a large file or folder (it is read in slices,"
    " not put in one prompt). Every result names its run id: the whole trace is stored on the server."
)


def build_server(tools: PonderTools) -> MCPServer:
    """An MCP server offering ``ask`` and ``query`` with ``tools`` (run it with ``.run("stdio")``)."""
    config = tools.config
    server: MCPServer = MCPServer("ponder", instructions=INSTRUCTIONS, version=__version__)
    strategies = "; ".join(f"{name}: {entry.summary}" for name, entry in entries().items())
    model = config.serve.model

    async def ask(question: str, ctx: Context, strategy: str = "single") -> Answer:
        try:
            return await tools.run(tools.ask_spec(question, strategy), _progress(ctx))
        except ToolCallError as exc:
            raise ToolError(str(exc)) from None

    async def query(question: str, path: str, ctx: Context) -> Answer:
        try:
            return await tools.run(tools.query_spec(question, path), _progress(ctx))
        except ToolCallError as exc:
            raise ToolError(str(exc)) from None

    server.add_tool(
        ask,
        name="ask",
        title="Ask ponder",
        description=f"Answer `question` with a reasoning strategy over the model {model}. `strategy` is one of:"
        f" {strategies}. Returns the answer, the stop reason, the token usage and the run id.",
    )
    allowed = ", ".join(str(p) for p in config.allow) or "none (the operator allowed no paths)"
    server.add_tool(
        query,
        name="query",
        title="Query a file or folder",
        description="Answer `question` about the file or folder at `path` with ponder's recursive strategy: the"
        " input stays out of the prompt and is read in slices, so it may be far larger than the model's window."
        f" `path` must be under an allowed path: {allowed} (a relative path starts at the first).",
    )
    return server


def _progress(ctx: Context):  # type: ignore[no-untyped-def]
    async def report(step: int, message: str) -> None:
        await ctx.report_progress(step, None, message)

    return report
