"""Hostile text (issue 12, classes 1 and 2): invalid Unicode and terminal escapes through every boundary.

These tests start a process, a server or a real model; the others are in tests/unit/test_hostile_text.py."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

from hostile_text_helpers import hostile
from layout import SRC


@pytest.mark.integration
def test_sandbox_run_prints_a_lone_surrogate():
    """The issue's example: ``echo 'print(chr(0xd800))' | ponder sandbox run -`` ended in an internal error."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    code = 'print(chr(0xd800)); print("\\x1b]0;pwned\\x07 \\x1b[2J done")'
    done = subprocess.run(
        [sys.executable, "-m", "ponder", "sandbox", "run", "-"], input=code.encode(), capture_output=True, env=env,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode("utf-8") == "\\ud800\n\\x1b]0;pwned\\x07 \\x1b[2J done\n"
    as_json = subprocess.run(
        [sys.executable, "-m", "ponder", "sandbox", "run", "-", "--json"], input=code.encode(), capture_output=True,
        env=env, timeout=60,
    )  # fmt: skip
    assert json.loads(as_json.stdout)["stdout"].startswith("\\ud800\n")


@pytest.mark.integration
def test_the_embedded_tokenizer_takes_any_text():
    from ponder.models import load_model

    model = load_model("smollm2")
    rng = random.Random(3)
    for _ in range(20):
        assert model.count_tokens(hostile(rng)) >= 0
