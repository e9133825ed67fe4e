"""Helpers shared by tests/unit/test_context_changes.py and tests/integration/test_context_changes_integration.py."""

from __future__ import annotations

from pathlib import Path

PROSE = "The harbour was quiet that morning. The boats rocked gently!\n" * 2000  # 122 KB


def _write(path: Path, text: str = PROSE) -> Path:
    path.write_text(text)
    return path
