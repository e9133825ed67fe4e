"""Helpers shared by tests/unit/test_store_journal.py and tests/integration/test_store_journal_integration.py."""

from __future__ import annotations

import sqlite3

import pytest

from ponder.store import journal


@pytest.fixture
def journal_from_the_first_step(monkeypatch):
    """These tests look at the journal: it is made at the first write (not after the first few steps)."""
    monkeypatch.setattr(journal, "DIRECT_WRITES", 0)


def _in_database(path) -> int:
    """Events in the database itself (not counting what waits in a journal)."""
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
