"""Helpers shared by tests/unit/test_repl_session.py and tests/integration/test_repl_session_integration.py."""

from __future__ import annotations

FIRST = "\n".join(f"order {i}: amount={i * 10}" for i in range(50))
