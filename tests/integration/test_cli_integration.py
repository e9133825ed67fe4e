"""The CLI: JSON output, traces, and one-line errors for bad input.

These tests start a process, a server or a real model; the others are in tests/unit/test_cli.py."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.integration
def test_real_process_exit_code_and_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "ponder", "ask", "q", "--model", "nosuch"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1
    assert (
        proc.stderr.strip()
        == "ponder: error: unknown model 'nosuch' (use smollm2, coder, gguf:PATH, hf:REPO/FILE, openai:MODEL or scripted)"
    )
    assert proc.stdout == ""
