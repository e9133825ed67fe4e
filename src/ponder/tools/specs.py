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

Each item is a :class:`ToolEntry` of one :class:`ponder.plugins.Registry`;
installed plugins add items through the ``ponder.tools`` entry-point group (a
``ToolEntry``, or a function of the argument returning a
:class:`~ponder.tools.Tool` or a list of them). Unknown names, missing arguments and two tools with one name raise
:class:`~ponder.errors.ConfigError`. The caller owns the tools: close them with
:func:`~ponder.tools.close_tools` to stop sandboxes and servers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..plugins import Arg, PluginError, Registry, resolve
from .base import Tool, close_tools
from .calculator import calculator_tool
from .files import file_tools
from .http import http_get_tool
from .mcp import mcp_tools
from .python import SandboxLike, python_tool


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


#: builds the tools of one ``--tools`` item from its argument (the text after ``NAME:``) and a sandbox factory
Build = Callable[[str, Callable[[], SandboxLike]], "Tool | Sequence[Tool]"]
#: what a plugin's entry point may give instead of a ToolEntry: a function of the argument
ToolFactory = Callable[[str], "Tool | Sequence[Tool]"]
GROUP = "ponder.tools"


@dataclass(frozen=True, slots=True)
class ToolEntry:
    """A ``--tools`` item: its ``NAME``, what builds its tools, how it is written and whether it takes ``:ARG``.

    A plugin's entry point (group ``ponder.tools``) gives a ``ToolEntry`` or a function of the argument."""

    name: str
    build: Build
    #: how a list of known items shows it (``search:DIR``); "" for the name
    usage: str = ""
    #: ``none``: ``NAME`` only; ``required``: ``NAME:ARG`` only; ``optional``: either
    arg: Arg = "optional"
    #: an item to show when the argument is missing (``search:DIR``)
    example: str = ""
    aliases: tuple[str, ...] = ()


BUILTIN: tuple[ToolEntry, ...] = (
    ToolEntry("calculator", lambda arg, sandbox: calculator_tool(), arg="none", aliases=("calc",)),
    ToolEntry("python", lambda arg, sandbox: python_tool(sandbox(), owns_sandbox=True), arg="none", aliases=("py",)),
    ToolEntry("search", lambda arg, sandbox: file_tools(arg), "search:DIR", "required", "search:DIR", ("files",)),
    ToolEntry(
        "http", lambda arg, sandbox: http_get_tool(arg), "http:HOST|HOST", "required", "http:example.com", ("http_get",)
    ),
    ToolEntry("mcp", lambda arg, sandbox: list(mcp_tools(arg)), "mcp:CONFIG.json", "required", "mcp:servers.json"),
)
KNOWN = ", ".join(e.usage or e.name for e in BUILTIN)


def _admit(loaded: object, name: str) -> ToolEntry:
    """What an entry point gives -> its entry: a ``ToolEntry``, or a function of the argument returning tools."""
    if isinstance(loaded, ToolEntry):
        return loaded
    if not callable(loaded):
        raise TypeError(f"{name} gives a {type(loaded).__name__}, not a ToolEntry or a function")
    factory: ToolFactory = loaded
    return ToolEntry(name, lambda arg, sandbox: factory(arg))


REGISTRY: Registry[ToolEntry] = Registry("tool", GROUP, BUILTIN, _admit)


def _one(item: str, sandbox_factory: Callable[[], SandboxLike]) -> list[Tool]:
    made = _make(item, sandbox_factory)
    for t in made:
        t.spec = item.strip()
    return made


def _make(item: str, sandbox_factory: Callable[[], SandboxLike]) -> list[Tool]:
    found, arg = resolve(REGISTRY, item, KNOWN, lambda e: e.example or e.name + ":ARG")
    made = REGISTRY.call(found, lambda: _as_list(found.build(arg, sandbox_factory)))
    if not all(isinstance(t, Tool) for t in made):
        close_tools([t for t in made if isinstance(t, Tool)])
        raise PluginError(f"the tool plugin {found.name!r} did not return ponder tools")
    return made


def _as_list(made: Tool | Sequence[Tool]) -> list[Tool]:
    return [made] if isinstance(made, Tool) else list(made)
