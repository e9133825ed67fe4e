"""``ponder runs html``: one self-contained HTML page per run (no network, no CDN).

The page's script and style are package data files, inlined into the page
together with the run's tree as JSON.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from typing import Any

from .tree import build_tree


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath("assets", name).read_text(encoding="utf-8")


def _script_json(value: Any) -> str:
    """JSON safe to embed in a ``<script>`` element."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_html(events: list[dict[str, Any]], info: dict[str, Any] | None = None) -> str:
    """The page for one top-level run, from its stored events (and summary, if known)."""
    tree = build_tree(events)
    title = f"ponder run {tree.get('run_id', '')}: {tree.get('question', '')}"
    payload = {"tree": tree, "info": info or {}}
    parts = {
        "title": html.escape(title[:200]),
        "style": _asset("page.css"),
        "data": _script_json(payload),
        "script": _asset("page.js"),
    }
    # one pass over the template, so nothing inside the run's text is ever substituted
    return re.sub(r"\{\{(\w+)\}\}", lambda m: parts[m.group(1)], _asset("page.html"))
