"""Helpers shared by tests/unit/test_export_chat.py and tests/integration/test_export_chat_integration.py."""

from __future__ import annotations

from ponder.store import RunStore
from ponder.store.export_chat import chat_record


def record_of(store: RunStore, run_id: str, **options) -> dict | None:
    return chat_record(run_id, store.run(run_id), store.events(run_id), **options)
