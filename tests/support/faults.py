"""Fault injection for tests: make a model's calls fail from the N-th one on, as a server that goes away."""

from __future__ import annotations

from typing import Any

from ponder.errors import ModelCallError


def fail_from(model: Any, n: int, message: str = "server went away") -> Any:
    """``model``, whose ``n``-th call and every later one raise :class:`ModelCallError` (counting from 1)."""
    real, calls = model.complete, {"n": 0}

    def flaky(messages, options, on_text=None, tools=None):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] >= n:
            raise ModelCallError(message)
        return real(messages, options, on_text, tools)

    model.complete = flaky
    return model
