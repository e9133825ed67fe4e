"""Helpers shared by tests/unit/test_public_benchmarks.py and tests/integration/test_public_benchmarks_integration.py."""

from __future__ import annotations

QUESTION = '''def add(a: int, b: int) -> int:
    """Add two numbers.
    >>> add(2, 3)
    5
    >>> add(-1, 1)
    0
    """
'''
