"""The trace viewer: a run as one self-contained HTML page."""

from __future__ import annotations

from .render import render_html
from .tree import build_tree, count_nodes

__all__ = ["build_tree", "count_nodes", "render_html"]
