"""Helpers shared by tests/unit/test_openai_compat.py and tests/integration/test_openai_compat_integration.py."""

from __future__ import annotations

from ponder.models.openai_compat import OpenAIModel
from ponder.types import system, user

FRANCE = "What is the capital of France?"
SYS = "You are a careful assistant. Answer accurately and concisely."
MESSAGES = [system(SYS), user(FRANCE)]


def fake_model(url: str, **kwargs: object) -> OpenAIModel:
    options: dict[str, object] = {"timeout": 5.0, "max_retries": 2, **kwargs}
    return OpenAIModel("fake", base_url=url, api_key="test-key", **options)  # type: ignore[arg-type]
