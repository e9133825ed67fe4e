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

Installed plugins add items through the ``ponder.tools`` entry-point group
(name -> a function of the argument returning a :class:`~ponder.tools.Tool`
or a list of them). Unknown names, missing arguments and two tools with one name raise
:class:`~ponder.errors.ConfigError`. The caller owns the tools: close them with
:func:`~ponder.tools.close_tools` to stop sandboxes and servers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from ..errors import ConfigError, PonderError
from .base import Tool, close_tools
from .calculator import calculator_tool
from .files import file_tools
from .http import http_get_tool
from .mcp import mcp_tools
from .python import SandboxLike, python_tool

KNOWN = "calculator, python, search:DIR, http:HOST|HOST, mcp:CONFIG.json"
_BUILTIN = frozenset({"calculator", "python", "search", "http", "mcp"})
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


#: builds the tools of one ``--tools`` item from its argument (the text after ``NAME:``)
ToolFactory = Callable[[str], "Tool | Sequence[Tool]"]
GROUP = "ponder.tools"


@cache
def _plugins() -> dict[str, EntryPoint]:
    """Tool factories of installed plugins (entry-point group ``ponder.tools``), by item name."""
    return {p.name: p for p in entry_points(group=GROUP) if p.name not in _BUILTIN}


def _one(item: str, sandbox_factory: Callable[[], SandboxLike]) -> list[Tool]:
    made = _make(item, sandbox_factory)
    for t in made:
        t.spec = item.strip()
    return made


def _make(item: str, sandbox_factory: Callable[[], SandboxLike]) -> list[Tool]:
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
    point = _plugins().get(name)
    if point is not None:
        return _from_plugin(point, arg)
    plugins = "".join(f", {n}" for n in _plugins())
    raise ConfigError(f"unknown tool {item.partition(':')[0]!r}; known: {KNOWN}{plugins}")


def _from_plugin(point: EntryPoint, arg: str) -> list[Tool]:
    try:
        factory: ToolFactory = point.load()
        made = factory(arg)
    except PonderError:
        raise
    except Exception as exc:
        raise ConfigError(f"the tool plugin {point.name!r} failed: {type(exc).__name__}: {exc}") from None
    tools = [made] if isinstance(made, Tool) else list(made)
    if not all(isinstance(t, Tool) for t in tools):
        raise ConfigError(f"the tool plugin {point.name!r} did not return ponder tools")
    return tools
