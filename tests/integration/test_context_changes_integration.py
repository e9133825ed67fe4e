"""Contexts that change under us: files that shrink, vanish or cannot be read, and block-wise scans.

These tests start a process, a server or a real model; the others are in tests/unit/test_context_changes.py."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from context_changes_helpers import PROSE, _write


@pytest.mark.integration
def test_a_shrinking_file_does_not_kill_the_process_with_a_signal(tmp_path: Path) -> None:
    path = _write(tmp_path / "big.txt", PROSE * 20)  # 2.4 MB: a memory map would fault on the lost pages
    script = textwrap.dedent(
        f"""
        import os, sys
        from ponder.context import open_context, split
        from ponder.errors import PonderError
        try:
            with open_context({str(path)!r}) as ctx:
                chunks = list(split(ctx, 4000, 500))
                print(chunks[0].text()[:11])
                os.truncate({str(path)!r}, 100)
                print(chunks[-1].text())
        except PonderError as exc:
            print(f"ponder: error: {{exc}}", file=sys.stderr)
            sys.exit(1)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, (done.returncode, done.stderr)  # a signal would be a negative code
    assert done.stdout.strip() == "The harbour"
    assert "shrank" in done.stderr and str(path) in done.stderr and "Traceback" not in done.stderr
