"""The OpenAI-compatible backend against real servers on 127.0.0.1.

* Unit tests (fast): a fake chat server in a thread (``servers.FakeChatServer``)
  that fails on purpose, delays, or rejects options; no mocks of the backend.
* Integration tests: llama-cpp-python's own OpenAI-compatible server, run as a
  child process with the embedded SmolLM2 model."""

from __future__ import annotations

import pytest

from openai_compat_helpers import MESSAGES, fake_model
from ponder import (
    GenerationOptions,
    ModelUnavailableError,
)
from servers import (
    free_port,
)


def test_connection_refused_names_the_url():
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    model = fake_model(url, max_retries=0)
    with pytest.raises(ModelUnavailableError, match="cannot reach the model server at") as info:
        model.complete(MESSAGES, GenerationOptions())
    assert url in str(info.value)
    assert "\n" not in str(info.value)
