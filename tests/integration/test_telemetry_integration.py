"""OpenTelemetry spans with GenAI attributes, checked with the SDK's in-memory exporter.

These tests start a process, a server or a real model; the others are in tests/unit/test_telemetry.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


@pytest.mark.integration
def test_cli_emits_spans_when_the_environment_asks(tmp_path):
    env = {**os.environ, "PONDER_OTEL": "1"}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    done = subprocess.run(
        [sys.executable, "-m", "ponder", "ask", "hi", "-m", "scripted", "--json", "--no-store"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["answer"] == "echo: hi"
    assert '"gen_ai.operation.name": "chat"' in done.stderr
    assert '"gen_ai.operation.name": "invoke_agent"' in done.stderr
    env["PONDER_OTEL"] = "0"
    quiet = subprocess.run(
        [sys.executable, "-m", "ponder", "ask", "hi", "-m", "scripted", "--json", "--no-store"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert "gen_ai" not in quiet.stderr
