"""``hf:`` models (ponder.models.hub) against a Hugging Face cache built in a temporary folder.

These tests start a process, a server or a real model; the others are in tests/unit/test_hub.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub_helpers import FILES, REPO, fill_cache


def ponder(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_DISABLE_TELEMETRY": "1", **env}
    environment.pop("HF_HUB_OFFLINE", None)
    environment.update(env)
    command = [sys.executable, "-m", "ponder", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=environment, cwd=tmp_path)


@pytest.mark.integration
def test_an_hf_model_in_the_cache_runs_offline_and_a_missing_one_is_one_line(tmp_path):
    fill_cache(tmp_path / "hub")
    question = ("ask", "What is the capital of France?", "--strategy", "single", "--max-tokens", "24", "--json")
    ran = ponder(tmp_path, *question, "--model", f"hf:{REPO}:Q4_1", "--no-store", HF_HUB_OFFLINE="1")
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert "Paris" in result["answer"] and result["usage"]["completion_tokens"] > 0

    missing = ponder(tmp_path, *question, "--model", "hf:nobody/nothing:Q4_K_M", "--no-store", HF_HUB_OFFLINE="1")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr == (
        "ponder: error: hf:nobody/nothing is not in the Hugging Face cache and HF_HUB_OFFLINE is set: "
        "fetch it once online\n"
    )


@pytest.mark.integration
def test_a_cached_model_needs_no_hub_and_an_unreachable_one_is_one_error_line(tmp_path):
    fill_cache(tmp_path / "hub")
    closed = {"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_ETAG_TIMEOUT": "2", "HF_HUB_DOWNLOAD_TIMEOUT": "2"}
    question = ("ask", "What is the capital of France?", "--strategy", "single", "--max-tokens", "24", "--json")
    ran = ponder(tmp_path, *question, "--model", f"hf:{REPO}/{FILES[0]}", "--no-store", **closed)
    assert ran.returncode == 0, ran.stderr
    assert "Paris" in json.loads(ran.stdout)["answer"]
    missing = ponder(tmp_path, *question, "--model", "hf:nobody/nothing/m-Q4_K_M.gguf", "--no-store", **closed)
    assert missing.returncode == 1 and missing.stdout == ""
    last = missing.stderr.splitlines()[-1]  # after the Hub client's own retry notices (about 25 s)
    assert last.startswith("ponder: error: hf:nobody/nothing/m-Q4_K_M.gguf is not in the Hugging Face cache")
    assert last.endswith("cannot be reached ([Errno 111] Connection refused); HF_HUB_OFFLINE=1 skips the Hub")
