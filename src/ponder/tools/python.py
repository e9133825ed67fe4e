"""The ``python`` tool: run code in a :class:`ponder.sandbox.Sandbox` and show what happened.

The observation is the code's stdout, then its stderr and the exception (if
any) under ``[stderr]`` / ``[error]`` headers, each part cut to ``max_output``
characters with a visible marker. A timeout says so. Code that printed nothing
gets a hint to ``print()`` what it wants to see. The sandbox is persistent, so
variables survive between calls; :meth:`Tool.close` closes it when the tool
owns it.
"""

from __future__ import annotations

from typing import Any, Protocol

from .base import DEFAULT_MAX_INPUT, DEFAULT_MAX_OUTPUT, Tool, ToolResult, truncate


class ExecResultLike(Protocol):
    """What ``Sandbox.run`` returns (only the fields this tool reads)."""

    @property
    def stdout(self) -> str: ...
    @property
    def stderr(self) -> str: ...
    @property
    def error(self) -> Any: ...
    @property
    def timed_out(self) -> bool: ...
    @property
    def truncated(self) -> bool: ...


class SandboxLike(Protocol):
    """The part of :class:`ponder.sandbox.Sandbox` this tool uses."""

    def run(self, code: str) -> ExecResultLike: ...


_DESCRIPTION = (
    "Run Python code in a sandbox and see what it prints. Variables persist between calls. Use print() to show results."
)
_PARAMETERS = {
    "type": "object",
    "properties": {"code": {"type": "string", "description": "the Python code to run"}},
    "required": ["code"],
}


def format_exec(result: ExecResultLike, max_output: int = DEFAULT_MAX_OUTPUT) -> ToolResult:
    """The observation for one sandbox run (see module doc)."""
    cut = bool(result.truncated)
    parts: list[str] = []
    stdout, cut_out = truncate(result.stdout or "", max_output)
    if stdout:
        parts.append(stdout.rstrip("\n"))
    if result.stderr and result.stderr.strip():
        stderr, cut_err = truncate(result.stderr.rstrip("\n"), max_output)
        parts.append(f"[stderr]\n{stderr}")
        cut = cut or cut_err
    error: str | None = None
    if result.timed_out:
        said = str(result.error or "").strip()
        error = said if "time" in said.lower() else f"timed out: {said or 'the code ran too long and was stopped'}"
    elif result.error:
        error, cut_exc = truncate(str(result.error).rstrip("\n"), max_output)
        cut = cut or cut_exc
    output = "\n".join(parts)
    if not output and error is None:
        output = "(no output; use print() to show a value)"
    return ToolResult(error is None, output, error, cut or cut_out)


def python_tool(
    sandbox: SandboxLike,
    *,
    max_output: int = DEFAULT_MAX_OUTPUT,
    max_input: int = DEFAULT_MAX_INPUT,
    owns_sandbox: bool = False,
) -> Tool:
    """A ``python`` tool that runs code in ``sandbox``; with ``owns_sandbox`` closing the tool closes it."""

    def run(code: str) -> ToolResult:
        return format_exec(sandbox.run(code), max_output)

    close = getattr(sandbox, "close", None) if owns_sandbox else None
    # Parts are cut to max_output each; the total may hold three parts plus markers.
    limit = 3 * max_output + 200
    # the sandbox bounds each call itself (interrupt, then kill and restart the worker): the engine's
    # deadline leaves room for that and is only the backstop
    config = getattr(sandbox, "config", None)
    per_call = getattr(config, "timeout", None)
    timeout = 2 * float(per_call) + 30 if isinstance(per_call, int | float) else None
    return Tool(
        "python", _DESCRIPTION, _PARAMETERS, run, max_output=limit, max_input=max_input, close=close, timeout=timeout
    )
