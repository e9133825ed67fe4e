"""Helpers shared by tests/unit/test_sandbox.py and tests/integration/test_sandbox_integration.py."""

from __future__ import annotations

from ponder.sandbox import SandboxConfig

FAST = SandboxConfig(timeout=5.0)
