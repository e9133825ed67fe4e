"""Every test here starts something outside the test process (another process, a listening socket or a
real model): it is marked integration, so ``pytest -m "not integration"`` leaves it out."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.integration)
