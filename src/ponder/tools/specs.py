"""Parse the CLI's ``--tools`` string into tools.

``calculator,python,search:DIR,http:host1|host2,mcp:CONFIG.json``

=================  ==========================================================
item               tools
=================  ==========================================================
``calculator``     ``calculator``
``python``         ``python`` (a fresh sandbox from ``sandbox_factory``)
``search:DIR``     ``search`` and ``read_file`` over folder DIR (``files:``)
``http:H1|H2``     ``http_get`` limited to hosts H1 and H2 (``http_get:``)
``mcp:FILE``       every tool of the MCP servers in config FILE
=================  ==========================================================

Unknown names, missing arguments and two tools with one name raise
:class:`~ponder.errors.ConfigError`. The caller owns the tools: close them with
:func:`~ponder.tools.close_tools` to stop sandboxes and servers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError
from .base import Tool, close_tools
from .calculator import calculator_tool
from .files import file_tools
from .http import http_get_tool
from .mcp import mcp_tools
from .python import SandboxLike, python_tool

KNOWN = "calculator, python, search:DIR, http:HOST|HOST, mcp:CONFIG.json"
_ALIASES = {"calc": "calculator", "files": "search", "http_get": "http", "py": "python"}


def default_sandbox() -> SandboxLike:
    """A sandbox with default settings (imported lazily: ``ponder.sandbox`` is optional here)."""
    module: Any = importlib.import_module("ponder.sandbox")
    sandbox: SandboxLike = module.Sandbox(module.SandboxConfig())
    return sandbox


def parse_tool_specs(spec: str, *, sandbox_factory: Callable[[], SandboxLike] | None = None) -> list[Tool]:
    """The tools named by ``spec`` (see module doc); an empty spec gives no tools."""
    tools: list[Tool] = []
    try:
        for item in (part.strip() for part in spec.split(",")):
            if item:
                tools.extend(_one(item, sandbox_factory or default_sandbox))
        names = [t.name for t in tools]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(f"--tools names {', '.join(duplicates)} more than once")
    except BaseException:
        close_tools(tools)
        raise
    return tools


def _one(item: str, sandbox_factory: Callable[[], SandboxLike]) -> list[Tool]:
    name, sep, arg = item.partition(":")
    name = _ALIASES.get(name.strip().lower(), name.strip().lower())
    arg = arg.strip()
    if name in ("calculator", "python") and sep:
        raise ConfigError(f"tool {name!r} takes no argument, got {item!r}")
    if name == "calculator":
        return [calculator_tool()]
    if name == "python":
        return [python_tool(sandbox_factory(), owns_sandbox=True)]
    if name in ("search", "http", "mcp") and not arg:
        example = {"search": "search:DIR", "http": "http:example.com", "mcp": "mcp:servers.json"}[name]
        raise ConfigError(f"tool {name!r} needs an argument, like {example}")
    if name == "search":
        return file_tools(arg)
    if name == "http":
        return [http_get_tool(arg)]
    if name == "mcp":
        return list(mcp_tools(arg))
    raise ConfigError(f"unknown tool {item.partition(':')[0]!r}; known: {KNOWN}")
