"""Tools from MCP servers (Model Context Protocol), over stdio, with the official ``mcp`` SDK.

The config is the common format (Claude Desktop, Cursor, ...), as a dict or a
JSON file::

    {"mcpServers": {"notes": {"command": "python", "args": ["server.py"],
                              "env": {"NOTES_DIR": "/data"}, "cwd": "/srv"}}}

Every server is started, its tools listed and each turned into a
:class:`~ponder.tools.Tool` whose arguments are checked against the server's
input schema before the call goes out. Tool names are the servers' own names
(small models do better with short names); with ``prefix=True`` they become
``<server>_<tool>``. Two tools with one name is a ConfigError that says to use
``prefix=True``. Entries with ``"disabled": true`` are skipped; servers over
HTTP (``"url"``) are not supported yet.

The SDK is async; one event loop runs in a background thread and each call is
submitted to it, so the tools are plain synchronous calls. Close the returned
:class:`MCPToolset` (``close()`` or ``with``) to stop the servers; they are also
stopped when it is garbage-collected or the interpreter exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import tempfile
import threading
import weakref
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigError
from .base import DEFAULT_MAX_OUTPUT, Tool, ToolError, ToolResult

T = TypeVar("T")
#: seconds a server that wrote something not JSON-RPC has to go on with the handshake
_JUNK_GRACE = 2.0
# the SDK logs each line a server writes that is not JSON-RPC with a traceback; ponder reports it in one line
logging.getLogger("mcp.client.stdio").addFilter(lambda record: not record.getMessage().startswith("Failed to parse"))
_UNSAFE_RE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """One stdio MCP server: the command that starts it."""

    name: str
    command: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None


def load_config(source: str | os.PathLike[str] | Mapping[str, Any]) -> list[ServerConfig]:
    """Read and check an MCP config (a path to a JSON file, or the parsed dict)."""
    where = "MCP config"
    if isinstance(source, str | os.PathLike):
        where = f"MCP config {os.fspath(source)}"
        try:
            data: Any = json.loads(Path(source).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{where}: file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{where}: cannot read it ({exc})") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    else:
        data = source
    servers = data.get("mcpServers", data.get("servers")) if isinstance(data, Mapping) else None
    if not isinstance(servers, Mapping):
        raise ConfigError(f'{where}: expected {{"mcpServers": {{"name": {{"command": ...}}}}}}')
    return [_server(where, str(name), entry) for name, entry in servers.items() if not _disabled(entry)]


def _disabled(entry: Any) -> bool:
    return isinstance(entry, Mapping) and entry.get("disabled") is True


def _server(where: str, name: str, entry: Any) -> ServerConfig:
    where = f"{where}: server {name!r}"
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: must be an object with a command")
    if "url" in entry or entry.get("type", "stdio") != "stdio":
        raise ConfigError(f"{where}: only stdio servers (a command) are supported, not HTTP/SSE")
    command, args, env, cwd = entry.get("command"), entry.get("args", []), entry.get("env", {}), entry.get("cwd")
    if not isinstance(command, str) or not command.strip():
        raise ConfigError(f"{where}: 'command' must be a non-empty string")
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ConfigError(f"{where}: 'args' must be a list of strings")
    if not isinstance(env, Mapping) or not all(isinstance(v, str) for v in env.values()):
        raise ConfigError(f"{where}: 'env' must map names to strings")
    if cwd is not None and not isinstance(cwd, str):
        raise ConfigError(f"{where}: 'cwd' must be a string")
    return ServerConfig(name, command, tuple(args), {str(k): v for k, v in env.items()}, cwd)


class _Loop:
    """An asyncio loop in a daemon thread; coroutines are submitted from any thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="ponder-mcp", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.thread.is_alive():
            self.loop.close()


class _Connection:
    """One running server: its session lives in one task, which keeps the SDK's contexts."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.session: Any = None
        # the server's stderr goes here (closed in stop()), so errors can quote its last line
        self.errlog = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        self.stopping: asyncio.Event | None = None
        self.task: asyncio.Task[None] | None = None
        self.failure: str | None = None

    async def start(self, timeout: float) -> list[Any]:
        from mcp import StdioServerParameters

        params = StdioServerParameters(
            command=self.config.command, args=list(self.config.args), env=self.config.env or None, cwd=self.config.cwd
        )
        self.stopping = asyncio.Event()
        ready: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self.task = asyncio.create_task(self._serve(params, ready))
        try:
            return await asyncio.wait_for(asyncio.shield(ready), timeout)
        except TimeoutError:
            message = f"MCP server {self.config.name!r} did not start within {timeout:g} s{self.tail()}"
        except Exception as exc:
            why = str(exc) if isinstance(exc, ConfigError) else _reason(exc)
            message = f"MCP server {self.config.name!r} failed to start: {why}{self.tail()}"
        await self.stop()
        raise ConfigError(message)

    async def _serve(self, params: Any, ready: asyncio.Future[list[Any]]) -> None:
        from mcp import ClientSession, stdio_client

        assert self.stopping is not None
        try:
            async with (
                stdio_client(params, errlog=self.errlog) as (read, write),
                ClientSession(read, write, message_handler=self._on_message(ready)) as session,
            ):
                await session.initialize()
                listing = await _list_tools(session)
                self.session = session
                ready.set_result(listing)
                await self.stopping.wait()
        except Exception as exc:
            self.failure = _reason(exc)
            if not ready.done():
                ready.set_exception(exc)
        finally:
            self.session = None

    def _on_message(self, ready: asyncio.Future[list[Any]]) -> Any:
        """The session's handler: a line on the server's stdout that is not JSON-RPC ends a start that does not
        go on within a short grace (one clear line instead of a wait for the start timeout)."""

        def fail() -> None:
            if not ready.done():
                ready.set_exception(ConfigError(f"{self.failure}, and no MCP answer followed"))

        async def handle(message: Any) -> None:
            if isinstance(message, Exception) and self.failure is None:
                self.failure = "the server wrote a line on stdout that is not JSON-RPC (servers must log to stderr)"
                if not ready.done():  # a banner before the handshake is forgiven if the handshake follows soon
                    asyncio.get_running_loop().call_later(_JUNK_GRACE, fail)

        return handle

    async def call(self, name: str, args: dict[str, Any], timeout: float) -> Any:
        if self.session is None:
            raise ToolError(f"MCP server {self.config.name!r} is not running ({self.failure or 'stopped'})")
        return await self.session.call_tool(name, args, read_timeout_seconds=timeout)

    async def stop(self) -> None:
        started = self.session is not None
        if self.stopping is not None:
            self.stopping.set()
        task = self.task
        if task is not None and not task.done():
            if not started:  # still starting: nothing to shut down politely
                task.cancel()
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 10)
        self.errlog.close()

    def tail(self) -> str:
        try:
            self.errlog.seek(0)
            lines = [line.strip() for line in self.errlog.read()[-2000:].splitlines() if line.strip()]
        except (OSError, ValueError):
            return ""
        return f" (stderr: {lines[-1]})" if lines else ""


async def _list_tools(session: Any) -> list[Any]:
    from mcp.types import PaginatedRequestParams

    tools: list[Any] = []
    cursor: str | None = None
    for _ in range(100):  # pages; a server that never stops paging is cut off
        params = PaginatedRequestParams(cursor=cursor) if cursor else None
        listing = await session.list_tools(params=params)
        tools.extend(listing.tools)
        cursor = listing.next_cursor
        if not cursor:
            break
    return tools


class MCPToolset(list[Tool]):
    """The tools of every server in an MCP config: a list of tools that can be closed."""

    def __init__(
        self,
        config: str | os.PathLike[str] | Mapping[str, Any],
        *,
        prefix: bool = False,
        start_timeout: float = 30.0,
        call_timeout: float = 60.0,
        max_output: int = DEFAULT_MAX_OUTPUT,
    ) -> None:
        super().__init__()
        servers = load_config(config)
        self.call_timeout = call_timeout
        self._loop = _Loop()
        self._connections: list[_Connection] = []
        self._finalizer = weakref.finalize(self, _shutdown, self._loop, self._connections)
        try:
            self._connections.extend(_Connection(server) for server in servers)
            listings = self._loop.run(_start_all(self._connections, start_timeout), None)
            for connection, listing in zip(self._connections, listings, strict=True):
                self.extend(self._tool(connection, remote, prefix, max_output) for remote in listing)
            _check_unique(self)
        except BaseException:
            self.close()
            raise

    def _tool(self, connection: _Connection, remote: Any, prefix: bool, max_output: int) -> Tool:
        remote_name = str(remote.name)
        local = _UNSAFE_RE.sub("_", f"{connection.config.name}_{remote_name}" if prefix else remote_name)[:64]
        if not local or local[0].isdigit():
            local = f"t_{local}"[:64]
        schema = dict(remote.input_schema or {"type": "object", "properties": {}})

        def call(**args: Any) -> ToolResult:
            if not self._finalizer.alive:
                raise ToolError("the MCP servers were closed")
            try:
                result = self._loop.run(connection.call(remote_name, args, self.call_timeout), self.call_timeout + 5)
            except TimeoutError:
                raise ToolError(f"timed out after {self.call_timeout:g} s") from None
            except ToolError:
                raise
            except Exception as exc:
                raise ToolError(f"MCP server {connection.config.name!r}: {_reason(exc)}") from None
            return _to_result(result)

        description = str(remote.description or remote.title or remote_name)
        timeout = self.call_timeout + 10  # the call bounds itself; the engine's deadline is the backstop
        return Tool(local, description, schema, call, max_output=max_output, close=self.close, timeout=timeout)

    def close(self) -> None:
        """Stop every server and the background loop; calling it again does nothing."""
        self._finalizer()

    def __enter__(self) -> MCPToolset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def mcp_tools(config: str | os.PathLike[str] | Mapping[str, Any], **options: Any) -> MCPToolset:
    """Start the servers of an MCP config and return their tools (see :class:`MCPToolset`)."""
    return MCPToolset(config, **options)


async def _start_all(connections: list[_Connection], timeout: float) -> list[list[Any]]:
    """Start the servers side by side; the first failure (a ConfigError) is raised."""
    results = await asyncio.gather(*(c.start(timeout) for c in connections), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [r for r in results if not isinstance(r, BaseException)]


def _shutdown(loop: _Loop, connections: list[_Connection]) -> None:
    for connection in connections:
        with contextlib.suppress(Exception):  # best effort; the servers also exit when their stdin closes
            loop.run(connection.stop(), 15)
    loop.stop()


def _check_unique(tools: list[Tool]) -> None:
    seen: set[str] = set()
    for item in tools:
        if item.name in seen:
            raise ConfigError(f"two MCP tools are named {item.name!r}; use prefix=True to prefix them by server")
        seen.add(item.name)


def _to_result(result: Any) -> ToolResult:
    parts: list[str] = []
    for block in getattr(result, "content", None) or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(str(block.text))
        elif kind in ("image", "audio"):
            parts.append(f"[{kind}: {block.mime_type}]")
        elif kind == "resource":
            text = getattr(block.resource, "text", None)
            parts.append(str(text) if text is not None else f"[resource {block.resource.uri}]")
        elif kind == "resource_link":
            parts.append(f"[link {block.uri}]")
    structured = getattr(result, "structured_content", None)
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False, default=str))
    text = "\n".join(parts)
    if getattr(result, "is_error", False):
        return ToolResult(False, "", text or "the tool reported an error")
    return ToolResult(True, text)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _reason(exc.exceptions[0])
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
