"""Prompt templates, stored as data files next to this module.

Templates use ``string.Template`` syntax (``$question``), so braces and other
characters in user text are never interpreted. :func:`load` returns the exact
text; :func:`render` substitutes variables and refuses missing ones.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template

from ..errors import ConfigError


@cache
def load(name: str) -> str:
    """Return the template ``name`` (e.g. ``"refine/critique"``) exactly as stored."""
    path = resources.files(__package__).joinpath(*f"{name}.txt".split("/"))
    if not path.is_file():
        raise ConfigError(f"no prompt template named {name!r}")
    return path.read_text(encoding="utf-8").rstrip("\n")


def render(name: str, **values: str) -> str:
    """Render template ``name`` with ``values``; a missing variable is an error."""
    try:
        return Template(load(name)).substitute(values)
    except KeyError as missing:
        raise ConfigError(f"prompt {name!r} needs a value for {missing}") from None
