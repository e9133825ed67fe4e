"""A sandbox's setup: what every new worker is given again, and what a lost worker cost.

A REPL built on a :class:`~ponder.sandbox.Sandbox` defines its functions and data
first (``run(code, setup=True)``, ``set_variable(name, value, setup=True)``). When the
worker is lost (the code crashed it, ran past the limit and was killed, or left threads
that could not be stopped), the sandbox starts a new one and gives it these steps again,
in order, so the code that follows still finds what it relies on; only the variables the
code itself defined are lost, and the message about the loss names them.
"""

from __future__ import annotations

from typing import Any

_NAMES_SHOWN = 12  # names a message about a lost worker lists


class Setup:
    """The steps, in order (the same step given twice is kept once, at its latest place)."""

    def __init__(self) -> None:
        self._steps: dict[tuple[str, str], Any] = {}  # ("set", name) -> value, ("run", code) -> None
        self.names: set[str] = set()  # the variables the setup defines

    def __bool__(self) -> bool:
        return bool(self._steps)

    def steps(self) -> list[tuple[str, str, Any]]:
        """``(kind, name or code, value)`` in order; kind is ``set`` or ``run``."""
        return [(kind, key, value) for (kind, key), value in self._steps.items()]

    def add_variable(self, name: str, value: Any) -> None:
        self._steps.pop(("set", name), None)
        self._steps[("set", name)] = value
        self.names.add(name)

    def add_code(self, code: str, defined: set[str]) -> None:
        self._steps.pop(("run", code), None)
        self._steps[("run", code)] = None
        self.names |= defined

    def lost(self, what: tuple[str, str], names: list[str]) -> str:
        """What a worker's loss costs: ``what`` is (the event, what follows without a setup); ``names`` the
        variables the worker held."""
        if not self._steps:
            return "".join(what)
        setup = _listing(sorted(self.names), ", ...")
        gone = [n for n in names if n not in self.names]
        lost = (
            f"the variables earlier code defined are lost ({_listing(gone)})"
            if gone
            else "no variable of earlier code was kept"
        )
        return f"{what[0]}: the setup is run again in the new worker ({setup}), but {lost}"


def _listing(names: list[str], more: str = "") -> str:
    if len(names) <= _NAMES_SHOWN:
        return ", ".join(names)
    return ", ".join(names[:_NAMES_SHOWN]) + (more or f" and {len(names) - _NAMES_SHOWN} more")
