"""Shared fixtures. Unit tests use the shipped ScriptedModel; no network."""

from __future__ import annotations

import pytest

from ponder import ScriptedModel

#: fixtures shared by the unit and the integration half of a split test file
pytest_plugins = ["resume_helpers", "store_journal_helpers", "viewer_helpers"]


@pytest.fixture
def echo_model() -> ScriptedModel:
    return ScriptedModel(lambda messages: f"reply to: {messages[-1].content}")


@pytest.fixture(scope="module")
def python():
    """The python tool on a real sandbox (10 s a call), one per test module, closed after it."""
    from ponder.sandbox import Sandbox, SandboxConfig
    from ponder.tools import python_tool

    tool = python_tool(Sandbox(SandboxConfig(timeout=10)), owns_sandbox=True)
    yield tool
    tool.close()


@pytest.fixture(autouse=True)
def _private_run_store(tmp_path_factory, monkeypatch):
    """Runs recorded by tests go to a temporary store, never to the user's data directory."""
    base = tmp_path_factory.mktemp("ponder-data")
    monkeypatch.setenv("PONDER_STORE", str(base / "runs.db"))
    monkeypatch.setenv("XDG_DATA_HOME", str(base))


@pytest.fixture(autouse=True)
def _fresh_server_probes(monkeypatch):
    """Each test probes the servers it starts afresh (a port may be reused by a server of another kind),
    and never reads or writes a probe cache on disk."""
    from ponder.models import servers

    monkeypatch.delenv("PONDER_PROBE_CACHE", raising=False)
    servers.forget()
    yield
    servers.forget()


def pytest_configure(config):
    import kind_guard

    kind_guard.install()
    config.pluginmanager.register(kind_guard, "kind_guard")
