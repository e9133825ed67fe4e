"""Shared fixtures. Unit tests use the shipped ScriptedModel; no network."""

from __future__ import annotations

import pytest

from ponder import ScriptedModel


@pytest.fixture
def echo_model() -> ScriptedModel:
    return ScriptedModel(lambda messages: f"reply to: {messages[-1].content}")
